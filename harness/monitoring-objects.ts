/**
 * The prometheus-operator objects of a synthesized stack as the cluster would receive them: the monitoring release's
 * values evaluated by the real terraform binary (variable defaults, a certificate expiry given for the tls
 * provider's computed attribute), then rendered by the chart's templates (harness/gateway-objects.ts renderChart).
 */
import { parse } from 'yaml';
import { MONITORING_CHART_DIR } from '../lib/monitoring/monitoring';
import { inlineMetadataNames, renderChart } from './gateway-objects';
import { resourcesOf, type Synthesized } from './json';
import { evaluateWithTerraform } from './terraform';

export interface MonitoringObjects {
  readonly serviceMonitor: any;
  readonly prometheusRule?: any;
}

export function monitoringRelease(json: Synthesized): any {
  const releases = resourcesOf(json, 'helm_release').filter((r) => typeof r.chart === 'string' && r.chart.startsWith('assets/monitoring_chart_'));
  if (releases.length !== 1) throw new Error(`expected one helm_release of the monitoring chart, found ${releases.length}`);
  return releases[0];
}

/** `certificateExpiresAt`: the leaf's validity_end_time (RFC 3339) the tls provider would report. */
export async function monitoringObjects(json: Synthesized, dir: string, certificateExpiresAt: string, values: Record<string, unknown> = {}): Promise<MonitoringObjects> {
  const release = monitoringRelease(json);
  const leaf = Object.keys(json.resource.tls_locally_signed_cert ?? {})[0];
  const { helmValues } = await evaluateWithTerraform(dir, json, { helmValues: inlineMetadataNames(json, release.values[0]) }, values,
    leaf ? { [leaf]: { validity_end_time: certificateExpiresAt } } : {});
  const objects = renderChart(parse(helmValues) as Record<string, unknown>, MONITORING_CHART_DIR) as any[];
  const byKind = (kind: string) => objects.filter((o) => o?.kind === kind);
  if (byKind('ServiceMonitor').length !== 1 || byKind('PrometheusRule').length > 1 || objects.length > 2) {
    throw new Error(`expected one ServiceMonitor and at most one PrometheusRule, got ${objects.map((o) => o?.kind).join(', ')}`);
  }
  return { serviceMonitor: byKind('ServiceMonitor')[0], prometheusRule: byKind('PrometheusRule')[0] };
}
