/**
 * Reading cdk.tf.json: typed look-ups by construct path, Terraform address or reference, and `synthesized(name)`,
 * a test environment's stack as synthesized. No cdktf import: jest synthesizes every test environment once per run
 * (__tests__/setup/synthesize.ts) and test files that only read the JSON never load cdktf or the provider bindings
 * (about a second of CPU per file). Without that cache (a single file run by path) the stack is synthesized here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A stack's cdk.tf.json, parsed. */
export interface Synthesized {
  resource: Record<string, Record<string, any>>;
  variable: Record<string, any>;
  output: Record<string, any>;
  import?: any[];
  removed?: any[];
  terraform: any;
  provider: Record<string, any[]>;
  data?: Record<string, Record<string, any>>;
  locals?: Record<string, unknown>;
}

/** Where the jest run's global setup wrote every test environment's cdk.tf.json (`<name>.json`). */
export const SYNTH_CACHE_ENV = 'REGISTRY_TEST_SYNTH_DIR';

/** The names of the test environments (harness/synth.ts TEST_ENVIRONMENTS), in their order. */
export function testEnvironmentNames(): string[] {
  const dir = process.env[SYNTH_CACHE_ENV];
  if (dir) return JSON.parse(readFileSync(join(dir, 'names.json'), 'utf8'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./synth') as typeof import('./synth')).TEST_ENVIRONMENTS.map((e) => e.name);
}

/** The cdk.tf.json of a test environment (harness/synth.ts TEST_ENVIRONMENTS), parsed; a fresh copy each call. */
export function synthesized(name: string): Synthesized {
  const dir = process.env[SYNTH_CACHE_ENV];
  if (dir) {
    try {
      return JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { environment, synth } = require('./synth') as typeof import('./synth');
  return synth(environment(name)).json;
}

/** Every resource of a type, as a list. */
export function resourcesOf(json: Pick<Synthesized, 'resource'>, type: string): any[] {
  return Object.values(json.resource?.[type] ?? {});
}

/** The only resource of a type (fails when there are none or several). */
export function only(json: Pick<Synthesized, 'resource'>, type: string): any {
  return onlyWithAddress(json, type)[1];
}

/** The only resource of a type and its Terraform address. */
export function onlyWithAddress(json: Pick<Synthesized, 'resource'>, type: string): [string, any] {
  const entries = Object.entries(json.resource?.[type] ?? {});
  if (entries.length !== 1) throw new Error(`expected one ${type}, found ${entries.length}`);
  return [`${type}.${entries[0][0]}`, entries[0][1]];
}

/** Logical ids are the construct path below the stack joined by '_', then a hash: `tls/secret` -> `tls_secret_6CB7...`. */
function find(json: Pick<Synthesized, 'resource'>, type: string, path: string): [string, any] {
  const prefix = `${path.replace(/\//g, '_')}_`;
  const entry = Object.entries(json.resource?.[type] ?? {}).find(([id]) => id.startsWith(prefix) && !id.slice(prefix.length).includes('_'));
  if (!entry) throw new Error(`no ${type} at ${path}`);
  return entry;
}

/** The Terraform address of the resource at a construct path, e.g. kubernetes_secret_v1.tls_secret_6CB779E3. */
export function address(json: Pick<Synthesized, 'resource'>, type: string, path: string): string {
  return `${type}.${find(json, type, path)[0]}`;
}

/** The resource at a construct path below the stack, e.g. `auth/htpasswd`. */
export function byPath(json: Pick<Synthesized, 'resource'>, type: string, path: string): any {
  return find(json, type, path)[1];
}

/** The resource at a Terraform address. */
export function resourceAt(json: Pick<Synthesized, 'resource'>, resourceAddress: string): any {
  const [type, id] = resourceAddress.split('.');
  const resource = json.resource?.[type]?.[id];
  if (!resource) throw new Error(`cdk.tf.json has no ${resourceAddress}`);
  return resource;
}

const NAME_REFERENCE = /^\$\{([a-z0-9_]+\.[A-Za-z0-9_-]+)\.metadata\[0\]\.name\}$/;

/** `${kubernetes_secret_v1.tls_secret_6CB779E3.metadata[0].name}` -> `kubernetes_secret_v1.tls_secret_6CB779E3`. */
export function referencedAddress(expression: string): string {
  const match = NAME_REFERENCE.exec(expression);
  if (!match) throw new Error(`not a reference to a resource's metadata name: ${expression}`);
  return match[1];
}

/** `${var.name}` -> the variable's default; anything else unchanged. */
export function resolveVariable(json: Pick<Synthesized, 'variable'>, value: string): unknown {
  const match = /^\$\{var\.([a-z0-9_]+)\}$/.exec(value);
  if (!match) return value;
  const variable = json.variable[match[1]];
  if (!variable || variable.default === undefined) throw new Error(`variable ${match[1]} has no default in cdk.tf.json`);
  return variable.default;
}

/**
 * The text Terraform makes of a literal string argument (a script, a config file escaped by lib/hcl.ts
 * `literalText`): `$${` and `%%{` become `${` and `%{`. A string that still interpolates is refused: its value is
 * Terraform's to compute (read it from a plan instead).
 */
export function templateLiteral(template: string): string {
  const interpolation = /(?<!\$)\$\{|(?<!%)%\{/.exec(template.replace(/\$\$\{|%%\{/g, ''));
  if (interpolation) throw new Error(`not a literal: the string interpolates at "${template.slice(interpolation.index, interpolation.index + 40)}"`);
  return template.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
}
