/**
 * The objects a local chart of the stack (lib/local-chart.ts) sends to the cluster, as the cluster would receive them:
 * the release's values evaluated by the real terraform binary (variable defaults, plus any values given), rendered by
 * the chart's templates (harness/gateway-objects.ts `renderChart`, which knows only templates that print values whole).
 * For the charts beside the TLSRoute one: the HTTPS route's (HTTPRoute, BackendTLSPolicy, policies, Gateway) and
 * the cert-manager Certificate's.
 */
import { parse } from 'yaml';
import { CERTIFICATE_CHART_DIR } from '../lib/certificates/cert-manager';
import { GATEWAY_HTTPS_CHART_DIR } from '../lib/exposure/gateway-https';
import { inlineMetadataNames, renderChart } from './gateway-objects';
import { resourcesOf, type Synthesized } from './json';
import { evaluateWithTerraform } from './terraform';

export interface LocalChart {
  /** How the release's chart path starts (`assets/<construct path>_chart_`). */
  readonly assetPrefix: string;
  readonly chartDir: string;
}

export const HTTPS_EXPOSURE_CHART: LocalChart = { assetPrefix: 'assets/exposure_chart_', chartDir: GATEWAY_HTTPS_CHART_DIR };
export const CERTIFICATE_CHART: LocalChart = { assetPrefix: 'assets/tls_certificate_chart_', chartDir: CERTIFICATE_CHART_DIR };

/** The one release of `chart` in the stack. */
export function chartRelease(json: Synthesized, chart: LocalChart): any {
  const releases = resourcesOf(json, 'helm_release').filter((r) => typeof r.chart === 'string' && r.chart.startsWith(chart.assetPrefix));
  if (releases.length !== 1) throw new Error(`expected one helm_release of ${chart.assetPrefix}, found ${releases.length}`);
  return releases[0];
}

/** Every object the chart renders, in order, with the variables at their defaults or at `values`. */
export async function chartObjects(json: Synthesized, dir: string, chart: LocalChart, values: Record<string, unknown> = {}): Promise<any[]> {
  const release = chartRelease(json, chart);
  if (!Array.isArray(release.values) || release.values.length !== 1) throw new Error('the release has not exactly one values document');
  const { helmValues } = await evaluateWithTerraform(dir, json, { helmValues: inlineMetadataNames(json, release.values[0]) }, values);
  return renderChart(parse(helmValues) as Record<string, unknown>, chart.chartDir) as any[];
}

/** The one object of `kind` among `objects` (throws when there is none or more than one). */
export function one(objects: readonly any[], kind: string): any {
  const found = objects.filter((o) => o?.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length} among ${objects.map((o) => o?.kind).join(', ')}`);
  return found[0];
}
