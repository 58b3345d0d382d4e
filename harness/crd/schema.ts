/**
 * The structural part of a CRD's `openAPIV3Schema`, as the API server applies it on create:
 *
 * 1. `assertSupportedSchema`: every keyword is one this module handles; anything else throws (a newer CRD cannot be
 *    half-checked silently).
 * 2. `applyDefaults`: nulls in non-nullable fields are pruned (or replaced by the field's default), then `default`
 *    values are applied top-down, on a copy, as the API server does before validating.
 * 3. `compileSchema`: the schema translated to JSON Schema for ajv (with RE2 for `pattern`, as Go's regexp), with
 *    `additionalProperties: false` wherever Kubernetes would prune an unknown field (strict field validation makes
 *    that an error); `validateSchema` runs it and turns ajv's errors into the API server's field errors.
 * 4. `validateListTypes`: `x-kubernetes-list-type` set and map items are unique (by value, by the map keys).
 */
import { RE2JS } from '@bufbuild/re2';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import * as net from 'node:net';
import { childPath, isObject, show, typeOf, type FieldErrorType, type ValidationError } from './errors';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface ValidationRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  readonly fieldPath?: string;
}

export interface Schema {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: Json[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  default?: Json;
  format?: string;
  nullable?: boolean;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  not?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: ValidationRule[];
}

/** The keywords handled here; any other makes `assertSupportedSchema` throw. */
const KEYWORDS = new Set([
  'description', 'type', 'properties', 'required', 'items', 'additionalProperties', 'enum', 'pattern', 'minLength',
  'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minItems', 'maxItems',
  'minProperties', 'maxProperties', 'default', 'format', 'nullable', 'oneOf', 'anyOf', 'allOf', 'not',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations',
]);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const RULE_FIELDS = new Set(['rule', 'message', 'messageExpression', 'reason', 'fieldPath']);
const REASONS = new Set(['FieldValueInvalid', 'FieldValueForbidden', 'FieldValueRequired', 'FieldValueDuplicate']);

/**
 * String formats Kubernetes checks (apiextensions-apiserver's format list, those the pinned CRDs use); a format
 * outside this table and `INTEGER_FORMATS` is refused. Kubernetes checks formats on strings only.
 */
export const STRING_FORMATS: Readonly<Record<string, (s: string) => boolean>> = {
  ipv4: (s) => net.isIPv4(s),
  ipv6: (s) => net.isIPv6(s),
  // RFC 3339 date-time, as strfmt's DateTime parses it.
  'date-time': (s) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s.replace(' ', 'T'))),
  // Standard base64 with padding (strfmt's Base64 decodes with base64.StdEncoding).
  byte: (s) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s),
};
/** Integer formats: Kubernetes does not check them (minimum/maximum bound the values where it matters). */
const INTEGER_FORMATS = new Set(['int32', 'int64']);

/** Throws when `schema` uses a keyword, type, format or rule field this validator does not handle. */
export function assertSupportedSchema(schema: unknown, where = '<root>', inBranch = false): void {
  if (!isObject(schema)) throw new Error(`${where}: schema is not an object`);
  const s = schema as Record<string, any>;
  for (const key of Object.keys(s)) if (!KEYWORDS.has(key)) throw new Error(`${where}: schema keyword ${key} is not implemented by this validator`);
  if (s.type !== undefined && !TYPES.has(s.type)) throw new Error(`${where}: type ${String(s.type)} is not implemented`);
  if (s.format !== undefined && !(s.format in STRING_FORMATS) && !INTEGER_FORMATS.has(s.format)) throw new Error(`${where}: format ${s.format} is not implemented`);
  const listType = s['x-kubernetes-list-type'];
  if (listType !== undefined && !['atomic', 'set', 'map'].includes(listType)) throw new Error(`${where}: x-kubernetes-list-type ${listType} is not implemented`);
  if (listType === 'map' && !Array.isArray(s['x-kubernetes-list-map-keys'])) throw new Error(`${where}: x-kubernetes-list-type map without x-kubernetes-list-map-keys`);
  if (s['x-kubernetes-map-type'] !== undefined && !['atomic', 'granular'].includes(s['x-kubernetes-map-type'])) throw new Error(`${where}: x-kubernetes-map-type ${s['x-kubernetes-map-type']} is not implemented`);
  for (const rule of s['x-kubernetes-validations'] ?? []) {
    if (inBranch) throw new Error(`${where}: x-kubernetes-validations inside anyOf/oneOf/allOf/not is not structural`);
    for (const key of Object.keys(rule)) if (!RULE_FIELDS.has(key)) throw new Error(`${where}: x-kubernetes-validations field ${key} is not implemented`);
    if (rule.reason !== undefined && !REASONS.has(rule.reason)) throw new Error(`${where}: x-kubernetes-validations reason ${rule.reason} is not implemented`);
  }
  for (const [name, child] of Object.entries(s.properties ?? {})) assertSupportedSchema(child, `${where}.${name}`, inBranch);
  if (s.items !== undefined) assertSupportedSchema(s.items, `${where}[]`, inBranch);
  if (isObject(s.additionalProperties)) assertSupportedSchema(s.additionalProperties, `${where}{}`, inBranch);
  for (const key of ['oneOf', 'anyOf', 'allOf'] as const) ((s[key] as unknown[]) ?? []).forEach((c, i) => assertSupportedSchema(c, `${where}|${key}[${i}]`, true));
  if (s.not !== undefined) assertSupportedSchema(s.not, `${where}|not`, true);
}

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

/** The schema of a property or map value of `schema`, as the structural schema has it. */
export function childSchema(schema: Schema, key: string): { schema?: Schema; kind: 'property' | 'key' } {
  const prop = schema.properties?.[key];
  if (prop) return { schema: prop, kind: 'property' };
  if (isObject(schema.additionalProperties)) return { schema: schema.additionalProperties as Schema, kind: 'key' };
  return { kind: 'property' };
}

/**
 * Applies the API server's defaulting to `value` (mutated; pass a copy): a null in a field that is not nullable is
 * replaced by the field's default or dropped, then absent fields get their `default`. `skip` names root properties
 * not to create (`status`, which a client does not send).
 */
export function applyDefaults(value: any, schema: Schema, skip: readonly string[] = []): void {
  if (isObject(value)) {
    for (const key of Object.keys(value)) {
      const { schema: sub } = childSchema(schema, key);
      if (value[key] === null && sub && !sub.nullable) {
        if (sub.default !== undefined) value[key] = clone(sub.default);
        else delete value[key];
      }
    }
    for (const [key, prop] of Object.entries(schema.properties ?? {})) {
      if (value[key] === undefined && prop.default !== undefined && !skip.includes(key)) value[key] = clone(prop.default);
    }
    for (const key of Object.keys(value)) {
      const { schema: sub } = childSchema(schema, key);
      if (sub) applyDefaults(value[key], sub);
    }
  } else if (Array.isArray(value) && schema.items) {
    for (const item of value) applyDefaults(item, schema.items);
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** `x-kubernetes-list-type: set|map`: no two items equal (set) or with equal map keys (map), everywhere in `value`. */
export function validateListTypes(value: unknown, schema: Schema, path: string, errors: ValidationError[]): void {
  if (Array.isArray(value)) {
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'set' || listType === 'map') {
      const keys = schema['x-kubernetes-list-map-keys'] ?? [];
      const keyOf = (item: any) => (listType === 'set' ? item : Object.fromEntries(keys.filter((k) => isObject(item) && item[k] !== undefined).map((k) => [k, item[k]])));
      value.forEach((item, i) => {
        if (value.slice(0, i).some((earlier) => deepEqual(keyOf(earlier), keyOf(item)))) {
          errors.push({ path: childPath(path, i, 'index'), message: `Duplicate value: ${show(keyOf(item))}`, origin: 'schema', type: 'Duplicate' });
        }
      });
    }
    if (schema.items) value.forEach((item, i) => validateListTypes(item, schema.items!, childPath(path, i, 'index'), errors));
  } else if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      const { schema: sub, kind } = childSchema(schema, key);
      if (sub) validateListTypes(v, sub, childPath(path, key, kind), errors);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// ajv

/**
 * Go's regexp (RE2) for `pattern`, as the API server matches it. ajv keys compiled patterns by their toString(),
 * which RE2JS gives as the pattern.
 */
const re2Engine = Object.assign((pattern: string) => RE2JS.compile(pattern), { code: 'RE2JS.compile' });

let ajv: Ajv | undefined;

function ajvInstance(): Ajv {
  if (!ajv) {
    // optimize: false skips ajv's code optimization pass, which costs more than it saves on schemas this large
    // validated a few times each (all pinned CRDs compile in about half the time).
    ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, strictTuples: false, code: { regExp: re2Engine, optimize: false } });
    for (const [name, validate] of Object.entries(STRING_FORMATS)) ajv.addFormat(name, { type: 'string', validate });
    for (const name of INTEGER_FORMATS) ajv.addFormat(name, { type: 'number', validate: () => true });
    ajv.addKeyword({
      keyword: 'x-kubernetes-int-or-string',
      schemaType: 'boolean',
      validate: (on: boolean, data: unknown) => !on || data === null || typeof data === 'string' || (typeof data === 'number' && Number.isInteger(data)),
    });
  }
  return ajv;
}

/**
 * The JSON Schema ajv validates with. `structural`: outside anyOf/oneOf/allOf/not, where an object without
 * additionalProperties or x-kubernetes-preserve-unknown-fields has exactly its properties. `rootMetadata`: the
 * resource's (or an embedded resource's) ObjectMeta, checked by object-meta.ts instead.
 */
function toJsonSchema(s: Schema, structural: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const copy = ['type', 'required', 'enum', 'pattern', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'multipleOf', 'format', 'nullable'] as const;
  for (const key of copy) if (s[key] !== undefined) out[key] = s[key];
  if (s.nullable && s.type === undefined) delete out.nullable; // ajv's nullable needs a type; untyped schemas admit null anyway
  // OpenAPI v3.0's boolean exclusiveMinimum/Maximum modify minimum/maximum; JSON Schema's are numbers.
  if (s.minimum !== undefined) out[s.exclusiveMinimum ? 'exclusiveMinimum' : 'minimum'] = s.minimum;
  if (s.maximum !== undefined) out[s.exclusiveMaximum ? 'exclusiveMaximum' : 'maximum'] = s.maximum;
  if (s['x-kubernetes-int-or-string']) out['x-kubernetes-int-or-string'] = true;
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  if (s.properties || embedded) {
    const props: Record<string, unknown> = {};
    for (const [key, prop] of Object.entries(s.properties ?? {})) props[key] = embedded && key === 'metadata' ? { type: 'object' } : toJsonSchema(prop, structural);
    if (embedded) {
      props.apiVersion ??= { type: 'string' };
      props.kind ??= { type: 'string' };
      props.metadata ??= { type: 'object' };
      out.required = [...new Set([...(s.required ?? []), 'apiVersion', 'kind'])];
    }
    out.properties = props;
  }
  if (isObject(s.additionalProperties)) out.additionalProperties = toJsonSchema(s.additionalProperties as Schema, structural);
  else if (structural && s.type === 'object' && s.additionalProperties !== true && !s['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  if (s.items) out.items = toJsonSchema(s.items, structural);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) if (s[key]) out[key] = s[key]!.map((b) => toJsonSchema(b, false));
  if (s.not) out.not = toJsonSchema(s.not, false);
  return out;
}

export function compileSchema(schema: Schema): ValidateFunction {
  const root = toJsonSchema(schema, true);
  // The resource's ObjectMeta: object-meta.ts checks it (the CRD schema says only `type: object`).
  if (isObject((root.properties as any)?.metadata)) (root.properties as any).metadata = { type: 'object' };
  return ajvInstance().compile(root);
}

/** Whether an error is about one branch of an anyOf/oneOf/not (reported once, as the combinator's error). */
const IN_BRANCH = /(^|\/)(?<!properties\/)(anyOf\/\d+|oneOf\/\d+|not)\//;

/** The field path of a JSON pointer into `value`, walked alongside `schema` (map keys in brackets). */
function fieldPath(pointer: string, value: unknown, schema: Schema | undefined): { path: string; value: unknown; schema?: Schema } {
  let path = '';
  let v: any = value;
  let s = schema;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(v)) {
      path = childPath(path, seg, 'index');
      s = s?.items;
    } else {
      const next = s ? childSchema(s, seg) : { kind: 'property' as const };
      path = childPath(path, seg, next.kind);
      s = next.schema;
    }
    v = v?.[seg];
  }
  return { path, value: v, schema: s };
}

function schemaError(path: string, message: string, type: FieldErrorType): ValidationError {
  return { path, message, origin: 'schema', type };
}

/** One ajv error as the API server words it. */
function toFieldError(e: ErrorObject, value: unknown, schema: Schema): ValidationError {
  const at = fieldPath(e.instancePath, value, schema);
  const v = at.value;
  const p = e.params as any;
  switch (e.keyword) {
    case 'required':
      return schemaError(childPath(at.path, p.missingProperty), 'Required value', 'Required');
    case 'additionalProperties':
      return { path: childPath(at.path, p.additionalProperty), message: 'Unknown field: not declared in the schema (strict field validation)', origin: 'schema', type: 'FieldValueUnknown' };
    case 'type':
      return schemaError(at.path, `Invalid value: "${typeOf(v)}": must be of type ${String(p.type).replace(/,null$/, '')}: ${show(v)}`, 'TypeInvalid');
    case 'x-kubernetes-int-or-string':
      return schemaError(at.path, `Invalid value: "${typeOf(v)}": must be of type integer or string: ${show(v)}`, 'TypeInvalid');
    case 'enum':
      return schemaError(at.path, `Unsupported value: ${show(v)}: supported values: ${(p.allowedValues as unknown[]).map(show).join(', ')}`, 'NotSupported');
    case 'maxLength':
      return schemaError(at.path, `Too long: may not be more than ${p.limit} characters`, 'TooLong');
    case 'minLength':
      return schemaError(at.path, `Invalid value: ${show(v)}: should be at least ${p.limit} chars long`, 'Invalid');
    case 'pattern':
      return schemaError(at.path, `Invalid value: ${show(v)}: should match '${p.pattern}'`, 'Invalid');
    case 'format':
      return schemaError(at.path, `Invalid value: ${show(v)}: must be of format ${p.format}`, 'Invalid');
    case 'minimum':
      return schemaError(at.path, `Invalid value: ${show(v)}: should be greater than or equal to ${p.limit}`, 'Invalid');
    case 'exclusiveMinimum':
      return schemaError(at.path, `Invalid value: ${show(v)}: should be greater than ${p.limit}`, 'Invalid');
    case 'maximum':
      return schemaError(at.path, `Invalid value: ${show(v)}: should be less than or equal to ${p.limit}`, 'Invalid');
    case 'exclusiveMaximum':
      return schemaError(at.path, `Invalid value: ${show(v)}: should be less than ${p.limit}`, 'Invalid');
    case 'multipleOf':
      return schemaError(at.path, `Invalid value: ${show(v)}: should be a multiple of ${p.multipleOf}`, 'Invalid');
    case 'maxItems':
    case 'maxProperties':
      return schemaError(at.path, `Too many: ${Array.isArray(v) ? v.length : Object.keys(v as object).length}: must have at most ${p.limit} items`, 'TooMany');
    case 'minItems':
      return schemaError(at.path, `Invalid value: ${(v as unknown[]).length}: should have at least ${p.limit} items`, 'Invalid');
    case 'minProperties':
      return schemaError(at.path, `Invalid value: ${Object.keys(v as object).length}: should have at least ${p.limit} properties`, 'Invalid');
    case 'anyOf':
      return schemaError(at.path, `Invalid value: ${show(v)}: must validate at least one schema (anyOf)`, 'Invalid');
    case 'oneOf':
      return schemaError(at.path, `Invalid value: ${show(v)}: must validate one and only one schema (oneOf), ${Array.isArray(p.passingSchemas) ? p.passingSchemas.length : 0} matched`, 'Invalid');
    case 'not':
      return schemaError(at.path, `Invalid value: ${show(v)}: must not validate the schema (not)`, 'Invalid');
    default:
      throw new Error(`ajv reported keyword ${e.keyword} at ${e.instancePath}, which this validator does not word`);
  }
}

/** The schema errors of `value` (already defaulted) against `validate`, compiled from `schema`. */
export function validateSchema(validate: ValidateFunction, schema: Schema, value: unknown): ValidationError[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).filter((e) => !IN_BRANCH.test(`${e.schemaPath.replace(/^#\//, '')}`)).map((e) => toFieldError(e, value, schema));
}
