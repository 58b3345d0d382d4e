/**
 * Test support: does distribution v3.1.0 (the deployed registry:3.1.0) know every config key and REGISTRY_*
 * variable we give it? It parses config.yml with non-strict yaml.v2 and drops unknown keys and variables with at
 * most a log line, and the e2e tests run distribution 2.8.2, which does the same: a key v3 dropped or renamed would
 * pass every other test. The key list, and the rules below, come from the v3.1.0 source
 * (harness/data/distribution-v3.1.0-config.json says which files and commit). Pure functions, no I/O.
 */
import data from './data/distribution-v3.1.0-config.json';

export interface DistributionKeyData {
  readonly source: { readonly repository: string; readonly tag: string; readonly commit: string; readonly files: readonly string[] };
  /** Dotted yaml paths; `*` is a free-form map key, `[]` a list element. */
  readonly keys: readonly string[];
  /** Leaves whose value is arbitrary: nothing below them is checked. */
  readonly freeform: readonly string[];
  readonly env: {
    readonly prefix: string;
    /** Yaml path -> lower-cased Go field name, where the environment uses a name other than the yaml tag. */
    readonly fieldNames: Readonly<Record<string, string>>;
    /** Inline structs: their keys are reached directly and also through `field` (REGISTRY_REDIS_OPTIONS_ADDRS). */
    readonly inline: readonly { readonly path: string; readonly field: string; readonly keys: readonly string[] }[];
    /** Where the parser meets a Go map, not a struct: `subtrees` and everything below them, and single `nodes`. */
    readonly mapKeyed: { readonly subtrees: readonly string[]; readonly nodes: readonly string[] };
    /** Variables strictly below these paths resolve to a key but v3.1.0 ignores them or fails on them. */
    readonly ineffective: readonly { readonly below: string; readonly reason: string }[];
  };
  /** Enumerated values v3.1.0 accepts for some keys. */
  readonly values: Readonly<Record<string, readonly string[]>>;
  /** Keys of `values` whose value v3.1.0 case-folds before comparing. */
  readonly valuesIgnoringCase: readonly string[];
}

export const DISTRIBUTION_V3: DistributionKeyData = data;

interface Node {
  /** Pattern path, as in the key list: `notifications.endpoints[].url`, `http.headers.*`. */
  readonly path: string;
  /** Literal child keys. */
  readonly children: Map<string, Node>;
  /** The child for any map key (`*`). */
  any?: Node;
  /** The child for a list element (`[]`). */
  element?: Node;
  freeform: boolean;
}

/** `a.b[].c` -> ['a', 'b', '[]', 'c']. */
function tokens(path: string): string[] {
  return path.split('.').flatMap((part) => {
    const name = part.replace(/(\[\])+$/, '');
    return [name, ...Array<string>((part.length - name.length) / 2).fill('[]')];
  });
}

function join(parent: string, token: string): string {
  if (token === '[]') return `${parent}[]`;
  return parent === '' ? token : `${parent}.${token}`;
}

function buildTree(keyData: DistributionKeyData): Node {
  const root: Node = { path: '', children: new Map(), freeform: false };
  for (const key of keyData.keys) {
    let node = root;
    for (const token of tokens(key)) {
      const path = join(node.path, token);
      const fresh = (): Node => ({ path, children: new Map(), freeform: false });
      if (token === '[]') node = node.element ??= fresh();
      else if (token === '*') node = node.any ??= fresh();
      else {
        let child = node.children.get(token);
        if (!child) node.children.set(token, (child = fresh()));
        node = child;
      }
    }
  }
  for (const path of keyData.freeform) {
    const node = find(root, path);
    if (!node || node.children.size > 0 || node.any || node.element) throw new Error(`freeform ${path} is not a leaf key`);
    node.freeform = true;
  }
  return root;
}

function find(root: Node, path: string): Node | undefined {
  let node: Node | undefined = root;
  for (const token of tokens(path)) {
    node = token === '[]' ? node?.element : token === '*' ? node?.any : node?.children.get(token);
  }
  return node;
}

const ROOT = buildTree(DISTRIBUTION_V3);

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every leaf path of a value none of whose keys are known (for the report). */
function reportAll(value: unknown, shown: string, out: string[]): void {
  if (isMapping(value) && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) reportAll(child, join(shown, key), out);
  } else if (Array.isArray(value) && value.some((v) => isMapping(v) || Array.isArray(v))) {
    for (const element of value) reportAll(element, `${shown}[]`, out);
  } else {
    out.push(shown);
  }
}

function walk(node: Node, value: unknown, shown: string, out: string[]): void {
  if (node.freeform) return;
  if (Array.isArray(value)) {
    // A list under a leaf (clientcas, addrs, a header's values) is a value, not keys.
    if (node.element) for (const element of value) walk(node.element, element, `${shown}[]`, out);
    return;
  }
  if (!isMapping(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const next = node.children.get(key) ?? node.any;
    if (next) walk(next, child, join(shown, key), out);
    else reportAll(child, join(shown, key), out);
  }
}

/**
 * The dotted paths in a parsed config.yml that distribution v3.1.0 does not read (case-sensitive, as yaml.v2 and
 * the drivers are), e.g. `redis.addr`, `storage.filesystem.rootdir`. A mapping under a known leaf is reported too
 * (`storage.inmemory.foo`), except under the free-form leaves (`log.fields.*`, middleware options).
 */
export function unknownConfigKeys(config: unknown): string[] {
  const out: string[] = [];
  walk(ROOT, config, '', out);
  return out;
}

/** `path=value` for each enumerated key whose value v3.1.0 refuses (for example `http.tls.minimumtls=tls1.0`). */
export function disallowedValues(config: unknown): string[] {
  const out: string[] = [];
  for (const [path, allowed] of Object.entries(DISTRIBUTION_V3.values)) {
    let value: unknown = config;
    for (const token of tokens(path)) value = isMapping(value) ? value[token] : undefined;
    if (value === undefined) continue;
    const fold = DISTRIBUTION_V3.valuesIgnoringCase.includes(path);
    const ok = typeof value === 'string' && allowed.some((a) => (fold ? a.toLowerCase() === value.toLowerCase() : a === value));
    if (!ok) out.push(`${path}=${String(value)}`);
  }
  return out;
}

export interface EnvVarMapping {
  /** The config path the variable sets, keys as the parser writes them (`storage.s3.accesskey`). */
  readonly path?: string;
  /** Why v3.1.0 would not apply it; absent when it does. */
  readonly problem?: string;
}

function mapKeyed(node: Node): boolean {
  const { subtrees, nodes } = DISTRIBUTION_V3.env.mapKeyed;
  return node.any !== undefined || nodes.includes(node.path) || subtrees.some((s) => node.path === s || node.path.startsWith(`${s}.`));
}

/**
 * How distribution v3.1.0's configuration parser applies one environment variable: `REGISTRY_HTTP_SECRET` sets
 * `http.secret`. Undefined for names without the REGISTRY_ prefix, which the parser never looks at.
 *
 * The name after REGISTRY_ is split on `_`; a struct field matches only its Go field name upper-cased (so
 * REGISTRY_HEALTH_FILECHECKERS, not _FILE), a map key is the part lower-cased, a list index is a decimal number.
 * A variable may stop at a section (REGISTRY_STORAGE): its value is YAML for the whole section.
 */
export function mapEnvVar(name: string): EnvVarMapping | undefined {
  const { prefix, fieldNames, inline, ineffective } = DISTRIBUTION_V3.env;
  if (!name.startsWith(prefix)) return undefined;
  const parts = name.slice(prefix.length).split('_');
  let node = ROOT;
  let shown = '';
  /** Set after an inline struct's own field name: only its keys may follow. */
  let only: readonly string[] | undefined;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (node.freeform) {
      // Below an `any` value the parser builds maps: every further part is a lower-cased key.
      shown = parts.slice(i).reduce((s, p) => join(s, p.toLowerCase()), shown);
      break;
    }
    let next: Node | undefined;
    let token = part;
    if (node.element) {
      if (!/^\d+$/.test(part)) return { problem: `${join(shown, part)}: ${part} is not a list index` };
      next = node.element;
      token = '[]';
    } else if (mapKeyed(node)) {
      token = part.toLowerCase();
      next = node.children.get(token) ?? node.any;
    } else {
      const inlined = inline.find((s) => s.path === node.path && only === undefined);
      if (inlined && part === inlined.field.toUpperCase()) {
        only = inlined.keys;
        continue;
      }
      for (const [key, child] of node.children) {
        if (only && !only.includes(key)) continue;
        if ((fieldNames[child.path] ?? key).toUpperCase() === part) {
          next = child;
          token = key;
          break;
        }
      }
      only = undefined;
    }
    if (!next) return { problem: `${join(shown, part.toLowerCase())} is not a key v3.1.0 reads` };
    node = next;
    shown = join(shown, token);
  }
  const below = ineffective.find((e) => node.path.startsWith(`${e.below}.`) || node.path.startsWith(`${e.below}[]`));
  if (below) return { path: shown, problem: below.reason };
  return { path: shown };
}

/**
 * The REGISTRY_* names distribution v3.1.0 would not apply: no such key (REGISTRY_STORAGE_S3_ACESSKEY), a yaml tag
 * where the parser wants the Go field name (REGISTRY_HEALTH_FILE_0_FILE), or a key the parser reaches but the
 * registry then ignores or fails on (REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED). Other names are ignored.
 */
export function unknownEnvVars(names: readonly string[]): string[] {
  return names.filter((name) => mapEnvVar(name)?.problem !== undefined);
}
