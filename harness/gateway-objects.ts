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
import { evaluateVariantsWithTerraform } from './terraform';

export interface GatewayObjects {
  /** The registry's route. */
  readonly tlsRoute: any;
  /** The routes of further ports (the pull-through cache's), in the order of the values. */
  readonly additionalTlsRoutes: any[];
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
 * template, e.g. "${var.namespace}", or the one expression it interpolates): what the provider reports for a name set
 * in configuration.
 */
export function inlineMetadataNames(json: Synthesized, expression: string): string {
  return expression.replace(/\b([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.metadata\[0\]\.name\b/g, (_m, type: string, id: string) => {
    const name = resourceAt(json, `${type}.${id}`).metadata?.name;
    if (typeof name !== 'string') throw new Error(`${type}.${id} has no configured metadata.name`);
    // A name that is one interpolation (`${format("%s-mirror", var.app_name)}`) inlines as that expression: quoted,
    // its inner quotes would have to be escaped, which HCL does not allow inside an interpolation.
    const whole = /^\$\{([^{}]*)\}$/.exec(name);
    return whole ? `(${whole[1]})` : JSON.stringify(name);
  });
}

/**
 * One template of the chart applied to `values`: only `{{ toYaml .Values.<key> }}`, its `with` form, and its `range`
 * form (each element of a list printed whole as its own document).
 */
function renderTemplate(file: string, text: string, values: Record<string, unknown>): unknown[] {
  const body = text.replace(/^\{\{- \/\*.*?\*\/ -\}\}\n/s, '');
  const whole = /^\{\{ toYaml \.Values\.([A-Za-z]+) \}\}\n$/.exec(body);
  if (whole) {
    if (values[whole[1]] === undefined) throw new Error(`${file}: .Values.${whole[1]} is not set`);
    return [values[whole[1]]];
  }
  const optional = /^\{\{- with \.Values\.([A-Za-z]+) \}\}\n\{\{ toYaml \. \}\}\n\{\{- end \}\}\n$/.exec(body);
  if (optional) return values[optional[1]] === undefined ? [] : [values[optional[1]]];
  const each = /^\{\{- range \.Values\.([A-Za-z]+) \}\}\n---\n\{\{ toYaml \. \}\}\n\{\{- end \}\}\n$/.exec(body);
  if (each) {
    const list = values[each[1]];
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw new Error(`${file}: .Values.${each[1]} is not a list`);
    return list;
  }
  throw new Error(`${file}: not a template this renderer knows (it prints one value whole); render it with helm instead`);
}

/** Every object the chart renders from `values`, in template file order. */
export function renderChart(values: Record<string, unknown>, chartDir = GATEWAY_CHART_DIR): unknown[] {
  const dir = path.join(chartDir, 'templates');
  return readdirSync(dir).sort().flatMap((file) => renderTemplate(file, readFileSync(path.join(dir, file), 'utf8'), values));
}

/**
 * The TLSRoute (and Gateway) of a synthesized stack with every variable at its default, or at `values`: evaluated
 * by terraform in `dir`, rendered by the chart.
 */
export async function gatewayObjects(json: Synthesized, dir: string, values: Record<string, unknown> = {}): Promise<GatewayObjects> {
  return (await gatewayObjectsVariants(json, dir, { values })).values;
}

/** `gatewayObjects` for several sets of values of one stack, evaluated by one terraform init and apply. */
export async function gatewayObjectsVariants<V extends string>(
  json: Synthesized,
  dir: string,
  variants: Record<V, Record<string, unknown>>,
): Promise<Record<V, GatewayObjects>> {
  const release = gatewayRelease(json);
  if (!Array.isArray(release.values) || release.values.length !== 1) throw new Error('the gateway release has not exactly one values document');
  const evaluated = await evaluateVariantsWithTerraform(dir, json, { helmValues: inlineMetadataNames(json, release.values[0]) }, variants);
  return Object.fromEntries(Object.entries<Record<string, any>>(evaluated).map(([name, { helmValues }]) => [name, renderedObjects(helmValues)])) as Record<V, GatewayObjects>;
}

/** The chart rendered from the evaluated values: the registry's TLSRoute, the further ports' routes, the Gateway. */
function renderedObjects(helmValues: string): GatewayObjects {
  // Helm reads the values as YAML; JSON is YAML.
  const parsed = parse(helmValues) as Record<string, unknown>;
  const objects = renderChart(parsed) as any[];
  const byKind = (kind: string) => objects.filter((o) => o?.kind === kind);
  if (objects.length !== byKind('TLSRoute').length + byKind('Gateway').length) throw new Error('the chart rendered an object that is neither a TLSRoute nor a Gateway');
  // The registry's route is the one the values hold as `tlsRoute`; the others are the further ports'.
  const registryRouteName = (parsed.tlsRoute as any)?.metadata?.name;
  const routes = byKind('TLSRoute');
  const [tlsRoute, ...moreRoutes] = routes.filter((r) => r.metadata?.name === registryRouteName);
  const additionalTlsRoutes = routes.filter((r) => r.metadata?.name !== registryRouteName);
  const [gateway, ...moreGateways] = byKind('Gateway');
  if (!tlsRoute || moreRoutes.length > 0 || moreGateways.length > 0) throw new Error(`expected one registry TLSRoute and at most one Gateway, got ${objects.map((o) => o?.kind).join(', ')}`);
  return { tlsRoute, additionalTlsRoutes, gateway, values: parsed };
}
