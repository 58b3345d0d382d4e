/**
 * The schema-driven part of the stand-ins' resource lifecycle: planning (computed attributes unknown on create,
 * replacement paths), filling unknowns on apply, deep merge for injected drift.
 */
import { attributeType, type CtyType, type SchemaAttribute, type SchemaBlock } from './schema-source';
import { DynamicValue, UNKNOWN, type Value } from './cty';

export type Path = Array<string | number>;
type Obj = Record<string, Value>;

/** Structural equality of two values (unknowns equal only to unknowns). */
export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a instanceof DynamicValue || b instanceof DynamicValue) {
    return a instanceof DynamicValue && b instanceof DynamicValue && JSON.stringify(a.type) === JSON.stringify(b.type) && equal(a.value, b.value);
  }
  if (a === null || b === null || a === UNKNOWN || b === UNKNOWN || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object), kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => equal((a as Obj)[k] ?? null, (b as Obj)[k] ?? null));
}

export function getPath(value: Value, path: Path): Value {
  let v: Value = value;
  for (const step of path) {
    if (v === null || v === UNKNOWN || typeof v !== 'object') return null;
    v = (v as Obj)[step as string] ?? null;
  }
  return v;
}

/**
 * planned = proposed, with computed attributes that are null in the proposal unknown where there is no prior value
 * (create, or a new nested element) and write-only attributes null.
 */
export function planBlock(prior: Value, proposed: Value, block: SchemaBlock): Value {
  if (proposed === null || proposed === UNKNOWN) return proposed;
  const p = proposed as Obj;
  const before = (prior === UNKNOWN ? null : prior) as Obj | null;
  const out: Obj = {};
  for (const [name, a] of Object.entries(block.attributes)) out[name] = planAttribute(before?.[name] ?? null, p[name] ?? null, a, before === null);
  for (const [name, b] of Object.entries(block.block_types)) {
    const v = p[name] ?? null;
    if (b.nesting_mode === 'single') out[name] = planBlock(before?.[name] ?? null, v, b.block);
    else if (v === null || v === UNKNOWN) out[name] = v;
    else out[name] = (v as Value[]).map((e, i) => planBlock(((before?.[name] ?? []) as Value[])[i] ?? null, e, b.block));
  }
  return out;
}

function planAttribute(prior: Value, proposed: Value, a: SchemaAttribute, create: boolean): Value {
  if (a.write_only) return null;
  if (proposed === null) return a.computed && (create || prior === null) ? UNKNOWN : proposed;
  if (!a.nested_type || proposed === UNKNOWN) return proposed;
  const inner: SchemaBlock = { attributes: a.nested_type.attributes, block_types: {} };
  if (a.nested_type.nesting_mode === 'single') return planBlock(prior, proposed, inner);
  return (proposed as Value[]).map((e, i) => planBlock(((prior ?? []) as Value[])[i] ?? null, e, inner));
}

/** Sets the value at `path` (a list index steps into a list block's element) when the path exists. */
export function setPath(value: Value, path: Path, v: Value): void {
  let holder: Value = value;
  for (const step of path.slice(0, -1)) {
    if (holder === null || holder === UNKNOWN || typeof holder !== 'object') return;
    holder = (holder as Obj)[step as string] ?? null;
  }
  if (holder !== null && holder !== UNKNOWN && typeof holder === 'object') (holder as Obj)[path[path.length - 1] as string] = v;
}

export type Filler = (path: Path, type: CtyType) => Value | undefined;

/** `value` with every unknown replaced: by `filler` when it knows the path, else an empty value of the type. */
export function fillUnknowns(value: Value, block: SchemaBlock, filler: Filler, path: Path = []): Value {
  if (value === null || value === UNKNOWN) return value;
  const v = value as Obj;
  const out: Obj = {};
  for (const [name, a] of Object.entries(block.attributes)) out[name] = fillAttribute(v[name] ?? null, a, filler, [...path, name]);
  for (const [name, b] of Object.entries(block.block_types)) {
    const e = v[name] ?? null;
    if (b.nesting_mode === 'single') out[name] = fillUnknowns(e, b.block, filler, [...path, name]);
    else out[name] = e === null || e === UNKNOWN ? [] : (e as Value[]).map((x, i) => fillUnknowns(x, b.block, filler, [...path, name, i]));
  }
  return out;
}

function fillAttribute(value: Value, a: SchemaAttribute, filler: Filler, path: Path): Value {
  const type = attributeType(a);
  if (value === UNKNOWN) return filler(path, type) ?? emptyValue(type);
  if (!a.nested_type || value === null) return value;
  const inner: SchemaBlock = { attributes: a.nested_type.attributes, block_types: {} };
  if (a.nested_type.nesting_mode === 'single') return fillUnknowns(value, inner, filler, path);
  return (value as Value[]).map((e, i) => fillUnknowns(e, inner, filler, [...path, i]));
}

/** What an absent computed value reads as: "", 0, false, [], {} or an object of such. */
export function emptyValue(type: CtyType): Value {
  if (type === 'string') return '';
  if (type === 'number') return 0;
  if (type === 'bool') return false;
  if (type === 'dynamic') return new DynamicValue(['object', {}], {});
  const [kind, inner] = type;
  if (kind === 'list' || kind === 'set' || kind === 'tuple') return [];
  if (kind === 'map') return {};
  return Object.fromEntries(Object.entries(inner as Record<string, CtyType>).map(([k, t]) => [k, emptyValue(t)]));
}

/** Computed attributes left null (data sources): filled like unknowns. */
export function fillComputedNulls(value: Value, block: SchemaBlock, filler: Filler, path: Path = []): Value {
  if (value === null || value === UNKNOWN) return value;
  const v = value as Obj;
  const out: Obj = {};
  for (const [name, a] of Object.entries(block.attributes)) {
    const type = attributeType(a);
    out[name] = a.computed && (v[name] ?? null) === null ? filler([...path, name], type) ?? emptyValue(type) : v[name] ?? null;
  }
  for (const [name, b] of Object.entries(block.block_types)) {
    const e = v[name] ?? null;
    if (b.nesting_mode === 'single') out[name] = fillComputedNulls(e, b.block, filler, [...path, name]);
    else out[name] = Array.isArray(e) ? e.map((x, i) => fillComputedNulls(x, b.block, filler, [...path, name, i])) : [];
  }
  return out;
}

/** `patch` deep-merged over `value`: objects by key, lists element by element, anything else replaced. */
export function deepMerge(value: Value, patch: unknown): Value {
  if (Array.isArray(patch) && Array.isArray(value)) {
    const out = [...value];
    patch.forEach((p, i) => { out[i] = i < value.length ? deepMerge(value[i], p) : p as Value; });
    return out;
  }
  if (patch && typeof patch === 'object' && value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof DynamicValue)) {
    const out: Obj = { ...(value as Obj) };
    for (const [k, p] of Object.entries(patch)) out[k] = deepMerge(out[k] ?? null, p);
    return out;
  }
  return patch as Value;
}
