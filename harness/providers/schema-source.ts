/**
 * Provider schemas (in the shape of `terraform providers schema -json`) derived from the pinned @cdktf/provider-*
 * packages: each `lib/<resource>/index.js` embeds its TypeScript source in a base64 source map, where every attribute
 * carries `// name - computed: x, optional: y, required: z` above its getter. The getter gives the type, the
 * `...ToHclTerraform` functions say which inputs are blocks, and a few facts the bindings cannot carry (sensitivity,
 * write-only, helm 3.x's nested attributes) come from the tables below (see harness/providers/README.md).
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

export type CtyType = string | [string, CtyType] | ['object', Record<string, CtyType>];

export interface SchemaAttribute {
  type?: CtyType;
  nested_type?: { nesting_mode: 'single' | 'list' | 'set'; attributes: Record<string, SchemaAttribute> };
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  sensitive?: boolean;
  write_only?: boolean;
}

export interface SchemaBlock {
  attributes: Record<string, SchemaAttribute>;
  block_types: Record<string, { nesting_mode: 'list' | 'set' | 'single'; block: SchemaBlock; min_items?: number; max_items?: number }>;
}

export interface ProviderSchema {
  provider: { version: number; block: SchemaBlock };
  resource_schemas: Record<string, { version: number; block: SchemaBlock }>;
  data_source_schemas: Record<string, { version: number; block: SchemaBlock }>;
}

/** The providers served, with the package whose bindings describe them. */
export const PROVIDERS = {
  kubernetes: { version: '2.38.0', package: '@cdktf/provider-kubernetes' },
  helm: { version: '3.1.1', package: '@cdktf/provider-helm' },
  tls: { version: '4.1.0', package: '@cdktf/provider-tls' },
  random: { version: '3.7.2', package: '@cdktf/provider-random' },
} as const;
export type ProviderName = keyof typeof PROVIDERS;

/**
 * Sensitive attributes, by "<type>.<path>" ("provider" for the provider block), from the providers' documentation.
 * A path names an attribute at any depth ("set_sensitive.value").
 */
const SENSITIVE: Record<ProviderName, string[]> = {
  kubernetes: [
    'provider.password', 'provider.token', 'provider.client_key',
    'kubernetes_secret_v1.data', 'kubernetes_secret_v1.binary_data', 'kubernetes_secret_v1.data_wo',
    'kubernetes_secret.data', 'kubernetes_secret.binary_data', 'kubernetes_secret.data_wo',
    'data.kubernetes_secret_v1.data', 'data.kubernetes_secret_v1.binary_data',
    'data.kubernetes_secret.data', 'data.kubernetes_secret.binary_data',
    'kubernetes_token_request_v1.token', 'kubernetes_certificate_signing_request_v1.certificate',
  ],
  // helm 3.1.1's own schema marks only these (its provider-level kubernetes credentials are not marked).
  helm: [
    'helm_release.repository_password', 'helm_release.set_sensitive.value',
    'data.helm_template.repository_password', 'data.helm_template.set_sensitive.value',
  ],
  tls: [
    'tls_private_key.private_key_pem', 'tls_private_key.private_key_openssh', 'tls_private_key.private_key_pem_pkcs8',
    'tls_cert_request.private_key_pem', 'tls_self_signed_cert.private_key_pem', 'tls_locally_signed_cert.ca_private_key_pem',
    'data.tls_public_key.private_key_pem', 'data.tls_public_key.private_key_openssh',
    'provider.proxy.password',
  ],
  random: ['random_password.result', 'random_password.bcrypt_hash'],
};

/** Write-only attributes (Terraform never stores them). */
const WRITE_ONLY: Record<ProviderName, string[]> = {
  kubernetes: ['kubernetes_secret_v1.data_wo', 'kubernetes_secret.data_wo'],
  helm: ['helm_release.set_wo'],
  tls: [],
  random: [],
};

/**
 * helm 3.x is a plugin-framework provider: its nested attributes show as blocks in the bindings. These are nested
 * attributes in its real schema (mode per path); everything else nested stays a block.
 */
const NESTED_ATTRIBUTES: Record<ProviderName, Record<string, 'single' | 'list' | 'set'>> = {
  kubernetes: {},
  helm: {
    'provider.experiments': 'single', 'provider.kubernetes': 'single', 'provider.kubernetes.exec': 'single',
    'provider.registries': 'list',
    'helm_release.metadata': 'single', 'helm_release.postrender': 'single', 'helm_release.set': 'list',
    'helm_release.set_list': 'list', 'helm_release.set_sensitive': 'list', 'helm_release.set_wo': 'list',
    'helm_release.timeouts': 'single',
    'data.helm_template.postrender': 'single', 'data.helm_template.set': 'set', 'data.helm_template.set_list': 'list',
    'data.helm_template.set_sensitive': 'set', 'data.helm_template.set_wo': 'list', 'data.helm_template.timeouts': 'single',
  },
  tls: {},
  random: {},
};

/** Schema versions recorded in state by the real providers where they are not 0. */
const SCHEMA_VERSIONS: Record<string, number> = { helm_release: 2, random_password: 3, random_string: 2 };

interface ClassInfo { body: string }

/** The TypeScript source embedded in one binding's source map. */
export function bindingSource(file: string): string {
  const text = readFileSync(file, 'utf8');
  const match = /sourceMappingURL=data:application\/json;base64,(.*)/.exec(text);
  if (!match) throw new Error(`${file}: no inline source map`);
  return JSON.parse(Buffer.from(match[1], 'base64').toString('utf8')).sourcesContent[0];
}

function classes(source: string): Map<string, ClassInfo> {
  const result = new Map<string, ClassInfo>();
  const re = /^export class (\w+) extends [\w.]+(?:<[^>]*>)? \{$/gm;
  const starts: Array<[string, number]> = [];
  for (let m = re.exec(source); m; m = re.exec(source)) starts.push([m[1], m.index]);
  starts.forEach(([name, start], i) => {
    const end = source.indexOf('\nexport ', start + 1);
    result.set(name, { body: source.slice(start, i + 1 < starts.length ? Math.min(end < 0 ? Infinity : end, starts[i + 1][1]) : (end < 0 ? source.length : end)) });
  });
  return result;
}

/** name -> isBlock for the inputs listed by a `...ToHclTerraform` function or `synthesizeHclAttributes`. */
function hclInputs(text: string): Map<string, boolean> {
  const inputs = new Map<string, boolean>();
  const re = /\n\s+(\w+): \{\n\s+value: [^\n]*\n\s+isBlock: (true|false),/g;
  for (let m = re.exec(text); m; m = re.exec(text)) inputs.set(m[1], m[2] === 'true');
  return inputs;
}

function hclFunction(source: string, struct: string): string {
  const name = `${struct[0].toLowerCase()}${struct.slice(1)}ToHclTerraform`;
  const start = source.indexOf(`export function ${name}(`);
  if (start < 0) return '';
  return source.slice(start, source.indexOf('\n}\n', start));
}

const PRIMITIVE_GETTERS: Array<[RegExp, CtyType]> = [
  [/cdktf\.Fn\.tolist\(this\.getListAttribute\(/, ['set', 'string']],
  [/cdktf\.Fn\.tolist\(this\.getNumberListAttribute\(/, ['set', 'number']],
  [/this\.getListAttribute\(/, ['list', 'string']],
  [/this\.getNumberListAttribute\(/, ['list', 'number']],
  [/this\.getStringAttribute\(/, 'string'],
  [/this\.getNumberAttribute\(/, 'number'],
  [/this\.getBooleanAttribute\(/, 'bool'],
  [/this\.getStringMapAttribute\(|new cdktf\.StringMap\(this/, ['map', 'string']],
  [/this\.getNumberMapAttribute\(|new cdktf\.NumberMap\(this/, ['map', 'number']],
  [/this\.getBooleanMapAttribute\(|new cdktf\.BooleanMap\(this/, ['map', 'bool']],
  [/this\.getAnyMapAttribute\(/, 'dynamic'],
];

const DECLARED_TYPES: Record<string, CtyType> = {
  string: 'string', number: 'number', boolean: 'bool', 'string[]': ['list', 'string'], 'number[]': ['list', 'number'],
  '{ [key: string]: string }': ['map', 'string'],
};

/** Converts a block (from the bindings) into the cty object type of its value, for computed-only nested values. */
export function blockType(block: SchemaBlock): CtyType {
  const attrs: Record<string, CtyType> = {};
  for (const [name, a] of Object.entries(block.attributes)) attrs[name] = attributeType(a);
  for (const [name, b] of Object.entries(block.block_types)) {
    const t = blockType(b.block);
    attrs[name] = b.nesting_mode === 'single' ? t : [b.nesting_mode, t];
  }
  return ['object', attrs];
}

export function attributeType(a: SchemaAttribute): CtyType {
  if (a.type !== undefined) return a.type;
  const inner = blockType({ attributes: a.nested_type!.attributes, block_types: {} });
  return a.nested_type!.nesting_mode === 'single' ? inner : [a.nested_type!.nesting_mode, inner];
}

class BindingReader {
  constructor(private readonly source: string, private readonly classMap: Map<string, ClassInfo>) {}

  /** The block described by class `className`; `inputs` says which attributes are inputs and which are blocks. */
  block(className: string, inputs: Map<string, boolean>, where: string): SchemaBlock {
    const info = this.classMap.get(className);
    if (!info) throw new Error(`${where}: class ${className} not found`);
    const block: SchemaBlock = { attributes: {}, block_types: {} };
    const re = /\/\/ (\w+) - computed: (true|false), optional: (true|false), required: (true|false)\n([\s\S]*?)(?=\n {2}\/\/ \w+ - computed:|\n {2}\/\/ =+|$)/g;
    for (let m = re.exec(info.body); m; m = re.exec(info.body)) {
      const [, name, computed, optional, required, chunk] = m;
      const flags: SchemaAttribute = {};
      if (required === 'true') flags.required = true;
      if (optional === 'true') flags.optional = true;
      if (computed === 'true') flags.computed = true;
      const nested = /new (\w+?)(OutputReference|List)\(this, "\w+"(?:, (true|false))?\)/.exec(chunk);
      if (nested) {
        const struct = nested[1];
        const mode = nested[2] === 'List' ? (nested[3] === 'true' ? 'set' : 'list') : 'single';
        const child = this.block(`${struct}OutputReference`, hclInputs(hclFunction(this.source, struct)), `${where}.${name}`);
        if (inputs.get(name) === true) {
          block.block_types[name] = {
            nesting_mode: mode === 'single' ? 'list' : mode,
            block: child,
            ...(required === 'true' ? { min_items: 1 } : {}),
            ...(mode === 'single' ? { max_items: 1 } : {}),
          };
        } else {
          const t = blockType(child);
          // Computed-only nested values (SDKv2 shows them as lists of objects).
          block.attributes[name] = { type: mode === 'single' ? ['list', t] : [mode, t], ...flags };
        }
        continue;
      }
      const primitive = PRIMITIVE_GETTERS.find(([pattern]) => pattern.test(chunk));
      if (primitive) {
        block.attributes[name] = { type: primitive[1], ...flags };
        continue;
      }
      // Provider classes keep their inputs in private fields: the declared type says what they are.
      const declared = /private _\w+\?: ([^;]+);/.exec(chunk)?.[1];
      if (!declared) throw new Error(`${where}.${name}: no type found in binding`);
      this.declared(block, name, declared, flags, where);
    }
    return block;
  }

  /** An input of declared TypeScript type `ts` (provider configuration and its structs). */
  private declared(block: SchemaBlock, name: string, ts: string, flags: SchemaAttribute, where: string): void {
    const simple = DECLARED_TYPES[ts.replace(/ \| cdktf\.IResolvable$/, '')];
    if (simple !== undefined) {
      block.attributes[name] = { type: simple, ...flags };
      return;
    }
    const struct = /^(\w+)(\[\])?/.exec(ts);
    if (!struct) throw new Error(`${where}.${name}: unknown declared type ${ts}`);
    block.block_types[name] = {
      nesting_mode: 'list',
      block: this.interfaceBlock(struct[1], `${where}.${name}`),
      ...(flags.required ? { min_items: 1 } : {}),
      ...(struct[2] ? {} : { max_items: 1 }),
    };
  }

  /** A block described only by its config interface (provider structs have no OutputReference class). */
  private interfaceBlock(interfaceName: string, where: string): SchemaBlock {
    const start = this.source.indexOf(`export interface ${interfaceName} {`);
    if (start < 0) throw new Error(`${where}: interface ${interfaceName} not found`);
    const body = this.source.slice(start, this.source.indexOf('\n}\n', start));
    const block: SchemaBlock = { attributes: {}, block_types: {} };
    const re = /#(\w+) [\w#]+\}\s*\*\/\s*readonly \w+(\?)?: ([^;]+);/g;
    for (let m = re.exec(body); m; m = re.exec(body)) {
      this.declared(block, m[1], m[3], m[2] ? { optional: true } : { required: true }, where);
    }
    return block;
  }
}

function pathApply(block: SchemaBlock, path: string[], fn: (attrs: Record<string, SchemaAttribute>, name: string, holder: SchemaBlock | null) => void): void {
  const [head, ...rest] = path;
  if (rest.length === 0) return fn(block.attributes, head, block);
  const nestedBlock = block.block_types[head]?.block;
  if (nestedBlock) return pathApply(nestedBlock, rest, fn);
  const attr = block.attributes[head];
  if (attr?.nested_type) return pathApply({ attributes: attr.nested_type.attributes, block_types: {} }, rest, fn);
  throw new Error(`schema path not found: ${path.join('.')}`);
}

/** A binding block turned into a nested attribute (helm 3.x). */
function toNestedAttribute(holder: SchemaBlock, name: string, mode: 'single' | 'list' | 'set'): void {
  const b = holder.block_types[name];
  if (b) {
    delete holder.block_types[name];
    const attributes: Record<string, SchemaAttribute> = { ...b.block.attributes };
    for (const inner of Object.keys(b.block.block_types)) {
      toNestedAttribute(b.block, inner, 'single');
      attributes[inner] = b.block.attributes[inner];
    }
    holder.attributes[name] = { nested_type: { nesting_mode: mode, attributes }, optional: true };
    return;
  }
  const a = holder.attributes[name];
  if (!a) throw new Error(`nested attribute ${name} not found`);
  if (a.nested_type) {
    a.nested_type.nesting_mode = mode;
    return;
  }
  // computed-only nested value: list(object) in the bindings' reading, an object in the real schema
  const t = a.type as [string, CtyType];
  const objectType = t[1] as ['object', Record<string, CtyType>];
  const attributes = Object.fromEntries(Object.entries(objectType[1]).map(([k, v]) => [k, { type: v, computed: true }]));
  holder.attributes[name] = { nested_type: { nesting_mode: mode, attributes }, computed: a.computed, optional: a.optional };
}

function markWriteOnly(a: SchemaAttribute): void {
  a.write_only = true;
  for (const inner of Object.values(a.nested_type?.attributes ?? {})) markWriteOnly(inner);
}

/** The schema of one provider, read from its bindings package (resolved from `root`, the project directory). */
export function schemaFromBindings(name: ProviderName, root: string): ProviderSchema {
  const lib = join(root, 'node_modules', PROVIDERS[name].package, 'lib');
  const schema: ProviderSchema = { provider: { version: 0, block: { attributes: {}, block_types: {} } }, resource_schemas: {}, data_source_schemas: {} };
  for (const dir of readdirSync(lib).sort()) {
    const file = join(lib, dir, 'index.js');
    if (!existsSync(file)) continue;
    // Large bindings keep their structs in index-structs/structsN.js, each with its own source map.
    const structs = join(lib, dir, 'index-structs');
    const parts = existsSync(structs) ? readdirSync(structs).filter((f) => /^structs\d+\.js$/.test(f)).map((f) => join(structs, f)) : [];
    const source = [file, ...parts].map(bindingSource).join('\n');
    const classMap = classes(source);
    const reader = new BindingReader(source, classMap);
    for (const [className, info] of classMap) {
      const kind = /extends cdktf\.(TerraformResource|TerraformDataSource|TerraformProvider) \{/.exec(info.body)?.[1];
      if (!kind) continue;
      const tfType = /tfResourceType = "(\w+)"/.exec(info.body)![1];
      const synth = info.body.slice(info.body.indexOf('protected synthesizeHclAttributes()'));
      const block = reader.block(className, hclInputs(synth), tfType);
      const key = kind === 'TerraformProvider' ? 'provider' : kind === 'TerraformDataSource' ? `data.${tfType}` : tfType;
      const nested = Object.entries(NESTED_ATTRIBUTES[name]).filter(([p]) => p.startsWith(`${key}.`))
        .sort(([a], [b]) => a.split('.').length - b.split('.').length);
      for (const [path, mode] of nested) {
        pathApply(block, path.slice(key.length + 1).split('.'), (_attrs, n, holder) => toNestedAttribute(holder!, n, mode));
      }
      for (const path of SENSITIVE[name].filter((p) => p.startsWith(`${key}.`))) {
        pathApply(block, path.slice(key.length + 1).split('.'), (attrs, n) => { attrs[n].sensitive = true; });
      }
      for (const path of WRITE_ONLY[name].filter((p) => p.startsWith(`${key}.`))) {
        pathApply(block, path.slice(key.length + 1).split('.'), (attrs, n) => markWriteOnly(attrs[n]));
      }
      // `alias` is Terraform's meta-argument, not part of any provider's schema.
      if (kind === 'TerraformProvider') delete block.attributes.alias;
      if (kind === 'TerraformProvider') schema.provider = { version: 0, block };
      else if (kind === 'TerraformDataSource') schema.data_source_schemas[tfType] = { version: 0, block };
      else schema.resource_schemas[tfType] = { version: SCHEMA_VERSIONS[tfType] ?? 0, block };
    }
  }
  return schema;
}

/** What a generated schema file depends on: the bindings package's version and this generator's source. */
export function schemaStamp(name: ProviderName, root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'node_modules', PROVIDERS[name].package, 'package.json'), 'utf8'));
  const generator = createHash('sha256').update(readFileSync(__filename.replace(/\.js$/, '.ts'))).digest('hex').slice(0, 16);
  return `${PROVIDERS[name].package}@${pkg.version} generator ${generator}`;
}

export const SCHEMA_DIR = join(__dirname, 'schemas');
