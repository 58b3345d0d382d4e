/**
 * cty values as Terraform sends them to providers: msgpack, with unknown values as extension type 0 (refined unknowns,
 * extension 0x0c, decode to plain unknowns) and `dynamic` values as `[type JSON, value]`. Values are walked with the
 * schema, so every object carries all of its attributes (null when absent) and absent list or set blocks are `[]`.
 */
import { decode, encode, ExtensionCodec, ExtData } from '@msgpack/msgpack';
import { blockType, type CtyType, type SchemaAttribute, type SchemaBlock } from './schema-source';

/** The unknown value ("known after apply"). */
export const UNKNOWN: unique symbol = Symbol('unknown');
export type Value = null | string | number | boolean | typeof UNKNOWN | Value[] | { [k: string]: Value } | DynamicValue;

/** A value of type `dynamic`: its type travels with it. */
export class DynamicValue {
  constructor(readonly type: CtyType, readonly value: Value) {}
}

const codec = new ExtensionCodec();
codec.register({ type: 0, encode: (v) => (v === UNKNOWN ? new Uint8Array([0]) : null), decode: () => UNKNOWN });
codec.register({ type: 12, encode: () => null, decode: () => UNKNOWN });

function fromWire(raw: unknown, type: CtyType): Value {
  if (raw === UNKNOWN || raw === null || raw === undefined) return (raw ?? null) as Value;
  if (type === 'dynamic') {
    const [typeJson, inner] = raw as [Uint8Array | string, unknown];
    const t = JSON.parse(typeof typeJson === 'string' ? typeJson : Buffer.from(typeJson).toString('utf8')) as CtyType;
    return new DynamicValue(t, fromWire(inner, t));
  }
  if (typeof type === 'string') return type === 'number' && typeof raw === 'string' ? Number(raw) : raw as Value;
  const [kind, inner] = type;
  if (kind === 'list' || kind === 'set') return (raw as unknown[]).map((v) => fromWire(v, inner as CtyType));
  if (kind === 'map') return Object.fromEntries(Object.entries(raw as object).map(([k, v]) => [k, fromWire(v, inner as CtyType)]));
  if (kind === 'tuple') return (raw as unknown[]).map((v, i) => fromWire(v, (inner as unknown as CtyType[])[i]));
  if (kind === 'object') {
    const attrs = inner as Record<string, CtyType>;
    return Object.fromEntries(Object.keys(attrs).map((k) => [k, fromWire((raw as Record<string, unknown>)[k] ?? null, attrs[k])]));
  }
  throw new Error(`unknown cty type ${JSON.stringify(type)}`);
}

function toWire(value: Value, type: CtyType): unknown {
  if (value === UNKNOWN || value === null) return value;
  if (type === 'dynamic') {
    const dv = value instanceof DynamicValue ? value : new DynamicValue(inferType(value), value);
    return [Buffer.from(JSON.stringify(dv.type)), toWire(dv.value, dv.type)];
  }
  if (typeof type === 'string') return value;
  const [kind, inner] = type;
  if (kind === 'list' || kind === 'set') return (value as Value[]).map((v) => toWire(v, inner as CtyType));
  if (kind === 'map') return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, toWire(v, inner as CtyType)]));
  if (kind === 'tuple') return (value as Value[]).map((v, i) => toWire(v, (inner as unknown as CtyType[])[i]));
  const attrs = inner as Record<string, CtyType>;
  return Object.fromEntries(Object.keys(attrs).map((k) => [k, toWire((value as Record<string, Value>)[k] ?? null, attrs[k])]));
}

/** The cty type of a plain JSON-like value (for dynamic values built by the stand-ins). */
export function inferType(value: Value): CtyType {
  if (value instanceof DynamicValue) return value.type;
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return ['tuple', value.map(inferType)] as unknown as CtyType;
  if (value && typeof value === 'object') return ['object', Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inferType(v)]))];
  return 'dynamic';
}

const valueTypes = new WeakMap<SchemaBlock, CtyType>();

/** The cty type of a block's value, computed once per (loaded, no longer changing) schema block. */
export function blockValueType(block: SchemaBlock): CtyType {
  let type = valueTypes.get(block);
  if (type === undefined) valueTypes.set(block, (type = blockType(block)));
  return type;
}

export function decodeValue(bytes: Uint8Array | undefined | null, block: SchemaBlock): Value {
  if (!bytes || bytes.length === 0) return null;
  return conform(fromWire(decode(bytes, { extensionCodec: codec }), blockValueType(block)), block);
}

export function encodeValue(value: Value, block: SchemaBlock): Buffer {
  const bytes = encode(toWire(conform(value, block), blockValueType(block)), { extensionCodec: codec, ignoreUndefined: false });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** `value` with every attribute of `block` present (null when absent) and absent list or set blocks as `[]`. */
export function conform(value: Value, block: SchemaBlock): Value {
  if (value === null || value === UNKNOWN) return value;
  const object = value as Record<string, Value>;
  const out: Record<string, Value> = {};
  for (const [name, a] of Object.entries(block.attributes)) out[name] = conformAttribute(object[name] ?? null, a);
  for (const [name, b] of Object.entries(block.block_types)) {
    const v = object[name] ?? null;
    if (b.nesting_mode === 'single') out[name] = conform(v, b.block);
    else out[name] = v === UNKNOWN ? v : ((v ?? []) as Value[]).map((e) => conform(e, b.block));
  }
  return out;
}

function conformAttribute(value: Value, a: SchemaAttribute): Value {
  if (!a.nested_type || value === null || value === UNKNOWN) return value;
  const inner: SchemaBlock = { attributes: a.nested_type.attributes, block_types: {} };
  if (a.nested_type.nesting_mode === 'single') return conform(value, inner);
  return (value as Value[]).map((e) => conform(e, inner));
}

/** A JSON value (raw state) read as a cty value of `block`. */
export function fromJson(json: unknown, block: SchemaBlock): Value {
  return conform(fromWire(json === undefined ? null : dynamicFromJson(json, blockValueType(block)), blockValueType(block)), block);
}

/** Raw JSON state carries dynamic values as `{ "type": ..., "value": ... }`; our wire form is `[type, value]`. */
function dynamicFromJson(json: unknown, type: CtyType): unknown {
  if (json === null || json === undefined) return null;
  if (type === 'dynamic') {
    const { type: t, value } = json as { type: CtyType; value: unknown };
    return [JSON.stringify(t), dynamicFromJson(value, t)];
  }
  if (typeof type === 'string') return json;
  const [kind, inner] = type;
  if (kind === 'list' || kind === 'set') return (json as unknown[]).map((v) => dynamicFromJson(v, inner as CtyType));
  if (kind === 'map') return Object.fromEntries(Object.entries(json as object).map(([k, v]) => [k, dynamicFromJson(v, inner as CtyType)]));
  if (kind === 'tuple') return (json as unknown[]).map((v, i) => dynamicFromJson(v, (inner as unknown as CtyType[])[i]));
  const attrs = inner as Record<string, CtyType>;
  return Object.fromEntries(Object.keys(attrs).map((k) => [k, dynamicFromJson((json as Record<string, unknown>)[k] ?? null, attrs[k])]));
}

export { ExtData };
