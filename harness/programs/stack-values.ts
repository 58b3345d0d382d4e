/**
 * What Terraform would put into the registry pod of a synthesized stack: every expression in the container's env and
 * in the data of the ConfigMaps and Secrets the pod reads, where the expression names variables only
 * (`${jsonencode(var.s3_bucket)}`, `${var.s3_region_endpoint != ""}`), evaluated by the real terraform binary with
 * the stack's variable blocks (their validations included) and the given values. Expressions over provider
 * resources (TLS keys, generated passwords) are left to the local stand-ins of stack-registry.ts.
 */
import { resourceAt, referencedAddress, type Synthesized } from '../json';
import { evaluateVariantsWithTerraform } from '../terraform';
import { type EvaluatedExpressions, type LocalSecrets, registryWorkload } from './pod';

/** `type.name.attribute`: a reference to a resource, which terraform cannot compute here. */
const RESOURCE_REFERENCE = /\b(?!var\b)[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+\.[a-z]/;

const variablesOnly = (value: unknown): value is string => typeof value === 'string' && value.includes('${') && !RESOURCE_REFERENCE.test(value);

export interface StackValues {
  /** Expression -> value, for env values and ConfigMap data (what prepareLocalPod takes). */
  readonly evaluated: EvaluatedExpressions;
  /** Secrets whose every value depends on variables only, by Terraform address, with their evaluated data. */
  readonly secrets: LocalSecrets;
}

/**
 * Evaluates the pod's variable expressions with `values` as tfvars in `dir`; fails as `terraform apply` would.
 * `server` names the RegistryServer construct when the stack has several (`mirror/server`).
 */
export async function evaluateStackValues(json: Synthesized, dir: string, values: Record<string, unknown>, server?: string): Promise<StackValues> {
  return (await evaluateStackValueVariants(json, dir, { values }, server)).values;
}

/** `evaluateStackValues` for several sets of values in one terraform apply. */
export async function evaluateStackValueVariants<V extends string>(
  json: Synthesized,
  dir: string,
  variants: Record<V, Record<string, unknown>>,
  server?: string,
): Promise<Record<V, StackValues>> {
  const workload = registryWorkload(json, server);
  const expressions = new Set<string>();
  for (const entry of workload.container.env ?? []) if (variablesOnly(entry.value)) expressions.add(entry.value);
  for (const volume of workload.volumes) {
    if (!volume.config_map) continue;
    for (const value of Object.values<string>(resourceAt(json, referencedAddress(volume.config_map.name)).data)) {
      if (variablesOnly(value)) expressions.add(value);
    }
  }
  const secretNames = new Set<string>([
    ...(workload.container.env ?? []).map((e: any) => e.value_from?.secret_key_ref?.name).filter(Boolean),
    ...workload.volumes.map((v) => v.secret?.secret_name).filter(Boolean),
  ]);
  const secretData: Record<string, Record<string, string>> = {};
  for (const name of secretNames) {
    const address = referencedAddress(name);
    const data: Record<string, string> = resourceAt(json, address).data;
    if (!Object.values(data).every(variablesOnly)) continue;
    secretData[address] = data;
    Object.values(data).forEach((value) => expressions.add(value));
  }
  const list = [...expressions];
  const all = await evaluateVariantsWithTerraform(dir, json, Object.fromEntries(list.map((e, i) => [`e${i}`, e])), variants);
  const result = {} as Record<V, StackValues>;
  for (const variant of Object.keys(variants) as V[]) {
    const outputs = all[variant];
    // In a string attribute Terraform writes numbers and bools as their literals.
    const evaluated: EvaluatedExpressions = Object.fromEntries(list.map((e, i) => [e, String(outputs[`e${i}`])]));
    const secrets: LocalSecrets = Object.fromEntries(Object.entries(secretData)
      .map(([address, data]) => [address, Object.fromEntries(Object.entries(data).map(([k, v]) => [k, evaluated[v]]))]));
    result[variant] = { evaluated, secrets };
  }
  return result;
}
