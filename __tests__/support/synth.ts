/** Test support: synthesize a RegistryStack for an environment and read the result as plain JSON. */
import { Testing } from 'cdktf';
import { ENVIRONMENTS, EnvironmentSettings } from '../../lib/environments';
import { RegistryStack } from '../../lib/registry-stack';

export type Synthesized = {
  resource: Record<string, Record<string, any>>;
  variable: Record<string, any>;
  output: Record<string, any>;
  import?: any[];
  terraform: any;
  provider: Record<string, any[]>;
};

export function environment(name: string, overrides: Partial<EnvironmentSettings> = {}): EnvironmentSettings {
  const base = ENVIRONMENTS.find((e) => e.name === name);
  if (!base) throw new Error(`no environment ${name}`);
  return { ...base, ...overrides, defaults: { ...base.defaults, ...(overrides.defaults ?? {}) } };
}

/** A RegistryStack for `env` in a fresh app (construction validates the environment and variable defaults). */
export function buildStack(env: EnvironmentSettings): RegistryStack {
  return new RegistryStack(Testing.app(), `registry-${env.name}`, { environment: env });
}

export function synth(env: EnvironmentSettings): { stack: RegistryStack; json: Synthesized } {
  const stack = buildStack(env);
  return { stack, json: JSON.parse(Testing.synth(stack)) };
}

/** The only resource of a type (fails when there are none or several). */
export function only(json: Synthesized, type: string): any {
  const all = Object.values(json.resource[type] ?? {});
  if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`);
  return all[0];
}

/** Logical ids are the construct path below the stack joined by '_', then a hash: `tls/secret` -> `tls_secret_6CB7...`. */
function find(json: Synthesized, type: string, path: string): [string, any] {
  const prefix = `${path.replace(/\//g, '_')}_`;
  const entry = Object.entries(json.resource[type] ?? {}).find(([id]) => id.startsWith(prefix) && !id.slice(prefix.length).includes('_'));
  if (!entry) throw new Error(`no ${type} at ${path}`);
  return entry;
}

/** The Terraform address of the resource at a construct path, e.g. kubernetes_secret_v1.tls_secret_6CB779E3. */
export function address(json: Synthesized, type: string, path: string): string {
  return `${type}.${find(json, type, path)[0]}`;
}

/** The resource at a construct path below the stack, e.g. `auth/htpasswd`. */
export function byPath(json: Synthesized, type: string, path: string): any {
  return find(json, type, path)[1];
}
