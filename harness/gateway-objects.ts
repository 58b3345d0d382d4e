/**
 * The Gateway API objects a synthesized stack sends to the cluster, as the cluster would receive them: the values of
 * the exposure's `helm_release`, evaluated by the real terraform binary (variable defaults, plus any values given),
 * then rendered by the chart's templates. There is no helm binary here, so `renderChart` knows exactly the template
 * forms the chart uses (print a value whole) and refuses any other: a template that computes something needs a real
 * helm render in its test first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { GATEWAY_CHART_DIR } from '../lib/exposure/gateway';
import { resourcesOf, resourceAt, type Synthesized } from './json';
import { evaluateWithTerraform } from './terraform';

export interface GatewayObjects {
  readonly tlsRoute: any;
  /** Only when the stack creates the Gateway. */
  readonly gateway?: any;
  /** The values Helm receives (parsed). */
  readonly values: Record<string, unknown>;
}

/** The exposure's release: the one whose chart is the gateway chart asset. */
export function gatewayRelease(json: Synthesized): any {
  const releases = resourcesOf(json, 'helm_release').filter((r) => typeof r.chart === 'string' && r.chart.startsWith('assets/exposure_chart_'));
  if (releases.length !== 1) throw new Error(`expected one helm_release of the gateway chart, found ${releases.length}`);
  return releases[0];
}

/**
 * `<type>.<id>.metadata[0].name` references replaced by the name the resource is configured with (a quoted HCL
 * template, e.g. "${var.namespace}"): what the provider reports for a name set in configuration.
 */
export function inlineMetadataNames(json: Synthesized, expression: string): string {
  return expression.replace(/\b([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.metadata\[0\]\.name\b/g, (_m, type: string, id: string) => {
    const name = resourceAt(json, `${type}.${id}`).metadata?.name;
    if (typeof name !== 'string') throw new Error(`${type}.${id} has no configured metadata.name`);
    return JSON.stringify(name);
  });
}

/** One template of the chart applied to `values`: only `{{ toYaml .Values.<key> }}` and its `with` form. */
function renderTemplate(file: string, text: string, values: Record<string, unknown>): unknown | undefined {
  const body = text.replace(/^\{\{- \/\*.*?\*\/ -\}\}\n/s, '');
  const whole = /^\{\{ toYaml \.Values\.([A-Za-z]+) \}\}\n$/.exec(body);
  if (whole) {
    if (values[whole[1]] === undefined) throw new Error(`${file}: .Values.${whole[1]} is not set`);
    return values[whole[1]];
  }
  const optional = /^\{\{- with \.Values\.([A-Za-z]+) \}\}\n\{\{ toYaml \. \}\}\n\{\{- end \}\}\n$/.exec(body);
  if (optional) return values[optional[1]] ?? undefined;
  throw new Error(`${file}: not a template this renderer knows (it prints one value whole); render it with helm instead`);
}

/** Every object the chart renders from `values`, in template file order. */
export function renderChart(values: Record<string, unknown>, chartDir = GATEWAY_CHART_DIR): unknown[] {
  const dir = path.join(chartDir, 'templates');
  return readdirSync(dir).sort().flatMap((file) => {
    const rendered = renderTemplate(file, readFileSync(path.join(dir, file), 'utf8'), values);
    return rendered === undefined ? [] : [rendered];
  });
}

/**
 * The TLSRoute (and Gateway) of a synthesized stack with every variable at its default, or at `values`: evaluated
 * by terraform in `dir`, rendered by the chart.
 */
export async function gatewayObjects(json: Synthesized, dir: string, values: Record<string, unknown> = {}): Promise<GatewayObjects> {
  const release = gatewayRelease(json);
  if (!Array.isArray(release.values) || release.values.length !== 1) throw new Error('the gateway release has not exactly one values document');
  const { helmValues } = await evaluateWithTerraform(dir, json, { helmValues: inlineMetadataNames(json, release.values[0]) }, values);
  // Helm reads the values as YAML; JSON is YAML.
  const parsed = parse(helmValues) as Record<string, unknown>;
  const objects = renderChart(parsed) as any[];
  const byKind = (kind: string) => objects.filter((o) => o?.kind === kind);
  if (objects.length !== byKind('TLSRoute').length + byKind('Gateway').length) throw new Error('the chart rendered an object that is neither a TLSRoute nor a Gateway');
  const [tlsRoute, ...moreRoutes] = byKind('TLSRoute');
  const [gateway, ...moreGateways] = byKind('Gateway');
  if (!tlsRoute || moreRoutes.length > 0 || moreGateways.length > 0) throw new Error(`expected one TLSRoute and at most one Gateway, got ${objects.map((o) => o?.kind).join(', ')}`);
  return { tlsRoute, gateway, values: parsed };
}
