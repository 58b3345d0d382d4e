/**
 * Validates Gateway API objects (TLSRoute and Gateway, gateway.networking.k8s.io/v1) the way an API server with the
 * published CRDs would, so that a test can prove what the stack emits would be admitted:
 *
 * 1. apiserver: apiVersion/kind of the endpoint, ObjectMeta basics (name, namespace, labels, annotations).
 * 2. defaulting: the CRD's `default` values are applied first, as the API server does before validating.
 * 3. schema: the openAPIV3Schema of the served storage version, walked keyword by keyword. The walker knows exactly
 *    the keywords of Kubernetes structural schemas that occur in these CRDs and refuses (throws) on any other, so a
 *    newer schema cannot be half-checked silently. Unknown fields are errors (kubectl's default strict field
 *    validation). `format`: ipv4, ipv6 and date-time are checked; int32/int64 are not (Kubernetes checks formats on
 *    strings only; the schemas bound these integers with minimum/maximum anyway).
 * 4. cel: every `x-kubernetes-validations` rule met on the way is looked up by its exact text among the rules
 *    implemented below, in TypeScript, with CEL's meaning (has() on the defaulted object, all/exists_one). A rule
 *    that is not implemented is reported as an error rather than skipped. As in the API server, no rule runs when
 *    the object has type errors.
 * 5. convention (opt out with `{ conventions: false }`): rules the CRD does not enforce but the Gateway API field
 *    docs or conformance tests state, or that this project requires of what it emits. Each is named.
 *
 * The schemas are data: harness/data/gateway-api-<tag>/ (see SOURCE.md there).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const GATEWAY_API_TAG = 'v1.6.1';
export const GATEWAY_API_DATA_DIR = path.join(__dirname, 'data', `gateway-api-${GATEWAY_API_TAG}`);

export type Origin = 'apiserver' | 'schema' | 'cel' | 'convention';

export interface GatewayApiError {
  /** Kubernetes field path, e.g. `spec.listeners[0].tls`. */
  readonly path: string;
  /** Kubernetes-style detail, e.g. `Invalid value: 0: should be greater than or equal to 1`. */
  readonly message: string;
  readonly origin: Origin;
  /** For cel and convention errors: the rule's name. */
  readonly rule?: string;
}

export interface ValidateOptions {
  /** Also check the named conventions (not enforced by the CRD). @default true */
  readonly conventions?: boolean;
}

/** `path: message`, one string per error. */
export function formatErrors(errors: readonly GatewayApiError[]): string[] {
  return errors.map((e) => `${e.path}: ${e.message}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Schema loading

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Schema {
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
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string; messageExpression?: string; reason?: string; fieldPath?: string }>;
}

/** The keywords this walker implements; anything else in a schema makes `loadSchema` throw. */
const KNOWN_KEYWORDS = new Set([
  'description', 'type', 'properties', 'required', 'items', 'additionalProperties', 'enum', 'pattern', 'minLength',
  'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'default', 'format',
  'nullable', 'oneOf', 'anyOf', 'allOf', 'not', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type', 'x-kubernetes-validations',
  // prometheus-operator's CRDs: an int-or-string field carries anyOf [integer, string] beside it, which is checked.
  'x-kubernetes-int-or-string',
]);
const KNOWN_TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

/** Throws when `schema` uses a keyword, type or rule field the walker does not implement. */
export function assertSupportedSchema(schema: unknown, where = '<root>'): void {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new Error(`${where}: schema is not an object`);
  const s = schema as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    if (!KNOWN_KEYWORDS.has(key)) throw new Error(`${where}: schema keyword ${key} is not implemented by this validator`);
  }
  if (s.type !== undefined && !KNOWN_TYPES.has(s.type as string)) throw new Error(`${where}: type ${String(s.type)} is not implemented`);
  for (const rule of (s['x-kubernetes-validations'] as Array<Record<string, unknown>> | undefined) ?? []) {
    for (const key of Object.keys(rule)) {
      if (key !== 'rule' && key !== 'message') throw new Error(`${where}: x-kubernetes-validations field ${key} is not implemented`);
    }
  }
  for (const [name, child] of Object.entries((s.properties as Record<string, unknown>) ?? {})) assertSupportedSchema(child, `${where}.${name}`);
  if (s.items !== undefined) assertSupportedSchema(s.items, `${where}[]`);
  if (typeof s.additionalProperties === 'object') assertSupportedSchema(s.additionalProperties, `${where}{}`);
  for (const key of ['oneOf', 'anyOf', 'allOf'] as const) {
    ((s[key] as unknown[]) ?? []).forEach((child, i) => assertSupportedSchema(child, `${where}|${key}[${i}]`));
  }
  if (s.not !== undefined) assertSupportedSchema(s.not, `${where}|not`);
}

const schemaCache = new Map<string, Schema>();

/**
 * Reads `<file>` from a data directory (by default Gateway API's, e.g. `tlsroute-v1.schema.json`) and checks every
 * keyword is supported.
 */
export function loadSchema(file: string, dataDir = GATEWAY_API_DATA_DIR): Schema {
  const key = path.join(dataDir, file);
  let schema = schemaCache.get(key);
  if (!schema) {
    schema = JSON.parse(fs.readFileSync(key, 'utf8')) as Schema;
    assertSupportedSchema(schema, file);
    schemaCache.set(key, schema);
  }
  return schema;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: unknown, key: string): boolean => isObject(o) && Object.prototype.hasOwnProperty.call(o, key) && o[key] !== null;
const show = (v: unknown): string => JSON.stringify(v);
const child = (p: string, key: string) => (p === '' ? key : /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${p}.${key}` : `${p}[${key}]`);
const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** CEL's name for the type of `self` in "Invalid value" details. */
const celType = (v: unknown) => (Array.isArray(v) ? 'array' : isObject(v) ? 'object' : typeOf(v));

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => has(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 3339 date-time, as Kubernetes' `date-time` format. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Formats Kubernetes validates on strings; others (and int32/int64 on integers) are ignored, as there. */
const FORMATS: Record<string, (s: string) => boolean> = {
  ipv4: (s) => net.isIPv4(s),
  ipv6: (s) => net.isIPv6(s),
  'date-time': (s) => DATE_TIME.test(s),
};

// ---------------------------------------------------------------------------------------------------------------
// Defaulting

/**
 * Applies `default` values top-down, like the API server before validation (on a copy). `skip` names properties
 * not to create: the root's `status`, which a client does not send (the Gateway CRD defaults it to "Pending").
 */
function applyDefaults(value: Json, schema: Schema, skip: readonly string[] = []): Json {
  if (isObject(value)) {
    for (const [key, prop] of Object.entries(schema.properties ?? {})) {
      if (!has(value, key) && prop.default !== undefined && !skip.includes(key)) value[key] = clone(prop.default);
      if (has(value, key)) value[key] = applyDefaults(value[key], prop);
    }
    if (typeof schema.additionalProperties === 'object') {
      for (const key of Object.keys(value)) {
        if (!schema.properties?.[key]) value[key] = applyDefaults(value[key], schema.additionalProperties);
      }
    }
  } else if (Array.isArray(value) && schema.items) {
    return value.map((item) => applyDefaults(item, schema.items!));
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// Schema walker

interface Walk {
  errors: GatewayApiError[];
  typeErrors: number;
}

function schemaError(walk: Walk, p: string, message: string): void {
  walk.errors.push({ path: p, message, origin: 'schema' });
}

/**
 * Validates `value` against `schema`. `structural` is false inside oneOf/anyOf/allOf/not, whose branches only add
 * constraints (unknown fields are judged by the structural part alone, as in Kubernetes).
 */
function validateSchema(value: Json, schema: Schema, p: string, walk: Walk, structural: boolean): void {
  if (value === null) {
    if (!schema.nullable && schema.type) {
      walk.typeErrors++;
      schemaError(walk, p, `Invalid value: "null": must be of type ${schema.type}`);
    }
    return;
  }
  if (schema.type) {
    const actual = typeOf(value);
    const ok = schema.type === actual || (schema.type === 'number' && actual === 'integer');
    if (!ok) {
      walk.typeErrors++;
      schemaError(walk, p, `Invalid value: "${actual}": must be of type ${schema.type}: ${show(value)}`);
      return;
    }
  }
  if (schema.enum && !schema.enum.some((e) => deepEqual(e, value))) {
    schemaError(walk, p, `Unsupported value: ${show(value)}: supported values: ${schema.enum.map(show).join(', ')}`);
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (schema.maxLength !== undefined && length > schema.maxLength) schemaError(walk, p, `Too long: may not be more than ${schema.maxLength} characters`);
    if (schema.minLength !== undefined && length < schema.minLength) schemaError(walk, p, `Invalid value: ${show(value)}: should be at least ${schema.minLength} chars long`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) schemaError(walk, p, `Invalid value: ${show(value)}: should match '${schema.pattern}'`);
    if (schema.format && FORMATS[schema.format] && !FORMATS[schema.format](value)) schemaError(walk, p, `Invalid value: ${show(value)}: must be of format ${schema.format}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) schemaError(walk, p, `Invalid value: ${value}: should be greater than or equal to ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) schemaError(walk, p, `Invalid value: ${value}: should be less than or equal to ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) schemaError(walk, p, `Too many: ${value.length}: must have at most ${schema.maxItems} items`);
    if (schema.minItems !== undefined && value.length < schema.minItems) schemaError(walk, p, `Invalid value: ${value.length}: should have at least ${schema.minItems} items`);
    if (schema.items) value.forEach((item, i) => validateSchema(item, schema.items!, `${p}[${i}]`, walk, structural));
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'map' || listType === 'set') {
      const keyOf = (item: Json) => (listType === 'set' ? item : Object.fromEntries((schema['x-kubernetes-list-map-keys'] ?? []).map((k) => [k, isObject(item) ? item[k] ?? null : null])));
      value.forEach((item, i) => {
        if (value.slice(0, i).some((earlier) => deepEqual(keyOf(earlier), keyOf(item)))) schemaError(walk, `${p}[${i}]`, `Duplicate value: ${show(keyOf(item))}`);
      });
    }
  }
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) schemaError(walk, p, `Too many: ${keys.length}: must have at most ${schema.maxProperties} items`);
    if (schema.minProperties !== undefined && keys.length < schema.minProperties) schemaError(walk, p, `Invalid value: ${keys.length}: should have at least ${schema.minProperties} items`);
    for (const key of schema.required ?? []) if (!has(value, key)) schemaError(walk, child(p, key), 'Required value');
    for (const key of keys) {
      const prop = schema.properties?.[key];
      if (prop) validateSchema(value[key], prop, child(p, key), walk, structural);
      else if (typeof schema.additionalProperties === 'object') validateSchema(value[key], schema.additionalProperties, child(p, key), walk, structural);
      else if (structural && schema.type === 'object' && schema.additionalProperties !== true && schema.properties) {
        schemaError(walk, child(p, key), 'Unknown field: not declared in the schema (strict field validation)');
      }
    }
  }
  const branch = (s: Schema) => {
    const w: Walk = { errors: [], typeErrors: 0 };
    validateSchema(value, s, p, w, false);
    return w;
  };
  if (schema.allOf) for (const s of schema.allOf) validateSchema(value, s, p, walk, false);
  if (schema.anyOf && !schema.anyOf.some((s) => branch(s).errors.length === 0)) {
    schemaError(walk, p, `Invalid value: ${show(value)}: must validate at least one schema (anyOf): ${schema.anyOf.flatMap((s) => formatErrors(branch(s).errors)).join('; ')}`);
  }
  if (schema.oneOf) {
    const passing = schema.oneOf.filter((s) => branch(s).errors.length === 0).length;
    if (passing !== 1) schemaError(walk, p, `Invalid value: ${show(value)}: must validate one and only one schema (oneOf), ${passing} matched`);
  }
  if (schema.not && branch(schema.not).errors.length === 0) schemaError(walk, p, `Invalid value: ${show(value)}: must not validate the schema (not)`);
}

// ---------------------------------------------------------------------------------------------------------------
// CEL rules (x-kubernetes-validations), implemented by their exact text

type CelRule = (self: any) => boolean;

interface CelImplementation {
  /** A short name for reports (the CRD has none). */
  readonly name: string;
  readonly check: CelRule;
}

/** `!has(x.f) || x.f == ''` on a defaulted object. */
const unsetOrEmpty = (o: any, f: string) => !has(o, f) || o[f] === '';
/** CEL `self.exists_one(x, pred)`. */
const existsOne = <T>(list: T[], pred: (x: T) => boolean) => list.filter(pred).length === 1;

const RFC1123 = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$/;

/** CEL `isIP(s)` of the Kubernetes IP library: an IPv4 or IPv6 address (no zone). */
const celIsIP = (s: string) => net.isIP(s) !== 0 && !s.includes('%');

/** Same parent, as the parentRefs rules define it (group, kind, name, and namespace with unset == ''). */
const sameParent = (p1: any, p2: any) =>
  p1.group === p2.group && p1.kind === p2.kind && p1.name === p2.name &&
  ((unsetOrEmpty(p1, 'namespace') && unsetOrEmpty(p2, 'namespace')) || (has(p1, 'namespace') && has(p2, 'namespace') && p1.namespace === p2.namespace));

const hostnameKey = (l1: any, l2: any) => (has(l1, 'hostname') && has(l2, 'hostname') ? l1.hostname === l2.hostname : !has(l1, 'hostname') && !has(l2, 'hostname'));

/** Keyed by the rule's exact text in the CRD. */
export const CEL_RULES: Readonly<Record<string, CelImplementation>> = {
  // TLSRoute spec.hostnames
  "self.all(h, !isIP(h))": { name: 'tlsroute-hostnames-no-ip', check: (self: string[]) => self.every((h) => !celIsIP(h)) },
  "self.all(h, !h.contains('*') ? h.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$') : true)": {
    name: 'tlsroute-hostnames-rfc1123',
    check: (self: string[]) => self.every((h) => (!h.includes('*') ? RFC1123.test(h) : true)),
  },
  "self.all(h, h.contains('*') ? (h.startsWith('*.') && h.substring(2).matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$')) : true)": {
    name: 'tlsroute-hostnames-wildcard-first-label',
    check: (self: string[]) => self.every((h) => (h.includes('*') ? h.startsWith('*.') && RFC1123.test(h.substring(2)) : true)),
  },
  // TLSRoute spec.parentRefs
  "self.all(p1, self.all(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) || (has(p1.__namespace__) && has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__ )) ? ((!has(p1.sectionName) || p1.sectionName == '') == (!has(p2.sectionName) || p2.sectionName == '')) : true))": {
    name: 'parentrefs-sectionname-all-or-none',
    check: (self: any[]) => self.every((p1) => self.every((p2) => (sameParent(p1, p2) ? unsetOrEmpty(p1, 'sectionName') === unsetOrEmpty(p2, 'sectionName') : true))),
  },
  "self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) || (has(p1.__namespace__) && has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__ )) && (((!has(p1.sectionName) || p1.sectionName == '') && (!has(p2.sectionName) || p2.sectionName == '')) || (has(p1.sectionName) && has(p2.sectionName) && p1.sectionName == p2.sectionName))))": {
    name: 'parentrefs-sectionname-unique',
    check: (self: any[]) =>
      self.every((p1) => existsOne(self, (p2) => sameParent(p1, p2) &&
        ((unsetOrEmpty(p1, 'sectionName') && unsetOrEmpty(p2, 'sectionName')) || (has(p1, 'sectionName') && has(p2, 'sectionName') && p1.sectionName === p2.sectionName)))),
  },
  // TLSRoute spec.rules[].backendRefs[]
  "(size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true": {
    name: 'backendref-service-port',
    check: (self: any) => (self.group.length === 0 && self.kind === 'Service' ? has(self, 'port') : true),
  },
  // Gateway spec.listeners
  "self.all(l, l.protocol in ['HTTP', 'TCP', 'UDP'] ? !has(l.tls) : true)": {
    name: 'listener-no-tls-for-http-tcp-udp',
    check: (self: any[]) => self.every((l) => (['HTTP', 'TCP', 'UDP'].includes(l.protocol) ? !has(l, 'tls') : true)),
  },
  "self.all(l, (l.protocol == 'HTTPS' && has(l.tls)) ? (l.tls.mode == '' || l.tls.mode == 'Terminate') : true)": {
    name: 'listener-https-terminate',
    check: (self: any[]) => self.every((l) => (l.protocol === 'HTTPS' && has(l, 'tls') ? l.tls.mode === '' || l.tls.mode === 'Terminate' : true)),
  },
  "self.all(l, (l.protocol == 'TLS' ? has(l.tls) && has(l.tls.mode) && l.tls.mode != '' : true))": {
    name: 'listener-tls-mode-set',
    check: (self: any[]) => self.every((l) => (l.protocol === 'TLS' ? has(l, 'tls') && has(l.tls, 'mode') && l.tls.mode !== '' : true)),
  },
  "self.all(l, l.protocol in ['TCP', 'UDP']  ? (!has(l.hostname) || l.hostname == '') : true)": {
    name: 'listener-no-hostname-for-tcp-udp',
    check: (self: any[]) => self.every((l) => (['TCP', 'UDP'].includes(l.protocol) ? unsetOrEmpty(l, 'hostname') : true)),
  },
  "self.all(l1, self.exists_one(l2, l1.name == l2.name))": {
    name: 'listener-name-unique',
    check: (self: any[]) => self.every((l1) => existsOne(self, (l2) => l1.name === l2.name)),
  },
  "self.all(l1, self.exists_one(l2, l1.port == l2.port && l1.protocol == l2.protocol && (has(l1.hostname) && has(l2.hostname) ? l1.hostname == l2.hostname : !has(l1.hostname) && !has(l2.hostname))))": {
    name: 'listener-port-protocol-hostname-unique',
    check: (self: any[]) => self.every((l1) => existsOne(self, (l2) => l1.port === l2.port && l1.protocol === l2.protocol && hostnameKey(l1, l2))),
  },
  // Gateway spec.listeners[].tls. CEL errors on size() of an absent field, and `error || x` is x only when x is true:
  // the object is admitted exactly when one of the two is non-empty, which is what this checks.
  "self.mode == 'Terminate' ? size(self.certificateRefs) > 0 || size(self.options) > 0 : true": {
    name: 'listener-tls-terminate-needs-certificates',
    check: (self: any) => (self.mode === 'Terminate' ? (self.certificateRefs?.length ?? 0) > 0 || Object.keys(self.options ?? {}).length > 0 : true),
  },
};

/** Runs every x-kubernetes-validations rule whose field is present (CEL rules do not run on absent fields). */
function validateCel(value: Json, schema: Schema, p: string, errors: GatewayApiError[]): void {
  if (value === null) return;
  for (const { rule, message } of schema['x-kubernetes-validations'] ?? []) {
    const impl = CEL_RULES[rule];
    const detail = message ?? `failed rule: ${rule}`;
    if (!impl) {
      errors.push({ path: p, message: `Invalid value: "${celType(value)}": rule not implemented by this validator (${detail})`, origin: 'cel', rule: 'not-implemented' });
    } else if (!impl.check(value)) {
      errors.push({ path: p, message: `Invalid value: "${celType(value)}": ${detail}`, origin: 'cel', rule: impl.name });
    }
  }
  if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      const prop = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (prop) validateCel(v, prop, child(p, key), errors);
    }
  } else if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => validateCel(item, schema.items!, `${p}[${i}]`, errors));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// apiserver: endpoint and ObjectMeta

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const OBJECT_META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

function keyErrors(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'a qualified name must consist of an optional DNS subdomain prefix and "/" and a name';
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return 'prefix part must be a lowercase RFC 1123 subdomain';
  if (name.length > 63 || !QUALIFIED_NAME.test(name)) return 'name part must consist of alphanumeric characters, "-", "_" or ".", start and end with an alphanumeric character, at most 63 characters';
  return undefined;
}

function validateEnvelope(obj: JsonObject, apiVersion: string, kind: string): GatewayApiError[] {
  const errors: GatewayApiError[] = [];
  const e = (p: string, message: string) => errors.push({ path: p, message, origin: 'apiserver' });
  if (obj.apiVersion !== apiVersion) e('apiVersion', has(obj, 'apiVersion') ? `Unsupported value: ${show(obj.apiVersion)}: supported values: "${apiVersion}"` : 'Required value');
  if (obj.kind !== kind) e('kind', has(obj, 'kind') ? `Unsupported value: ${show(obj.kind)}: supported values: "${kind}"` : 'Required value');
  const meta = obj.metadata;
  if (!isObject(meta)) {
    e('metadata', 'Required value');
    return errors;
  }
  for (const key of Object.keys(meta)) if (!OBJECT_META_FIELDS.has(key)) e(child('metadata', key), 'Unknown field: not a field of ObjectMeta');
  if (!has(meta, 'name') && !has(meta, 'generateName')) e('metadata.name', 'Required value: name or generateName is required');
  if (has(meta, 'name') && (typeof meta.name !== 'string' || meta.name.length > 253 || !DNS1123_SUBDOMAIN.test(meta.name))) {
    e('metadata.name', `Invalid value: ${show(meta.name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`);
  }
  // A namespaced object without metadata.namespace goes to the client's default namespace: not an error here.
  if (has(meta, 'namespace') && (typeof meta.namespace !== 'string' || meta.namespace.length > 63 || !DNS1123_LABEL.test(meta.namespace))) {
    e('metadata.namespace', `Invalid value: ${show(meta.namespace)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`);
  }
  for (const field of ['labels', 'annotations'] as const) {
    if (!has(meta, field)) continue;
    const map = meta[field];
    if (!isObject(map)) {
      e(`metadata.${field}`, `Invalid value: ${show(map)}: must be a map of strings`);
      continue;
    }
    for (const [key, value] of Object.entries(map)) {
      const keyProblem = keyErrors(key);
      if (keyProblem) e(`metadata.${field}`, `Invalid value: ${show(key)}: ${keyProblem}`);
      if (typeof value !== 'string') e(child(`metadata.${field}`, key), `Invalid value: ${show(value)}: must be a string`);
      else if (field === 'labels' && (value.length > 63 || !LABEL_VALUE.test(value))) e(child('metadata.labels', key), `Invalid value: ${show(value)}: a valid label value must be 63 characters or less, alphanumeric, '-', '_' or '.'`);
    }
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------------------------
// Conventions (not enforced by the CRD)

export interface Convention {
  readonly name: string;
  /** Where the rule comes from. */
  readonly basis: string;
  readonly check: (spec: any) => Array<{ path: string; message: string }>;
}

export const TLSROUTE_CONVENTIONS: readonly Convention[] = [
  {
    name: 'tlsroute-has-parent',
    basis: 'project: the CRD leaves spec.parentRefs optional, but a route with no parentRefs attaches to nothing',
    check: (spec) => (Array.isArray(spec?.parentRefs) && spec.parentRefs.length > 0 ? [] : [{ path: 'spec.parentRefs', message: 'Required value: the route must name the Gateway it attaches to (convention tlsroute-has-parent)' }]),
  },
];

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const isPassthrough = (l: any) => l?.protocol === 'TLS' && l?.tls?.mode === 'Passthrough';
const listenersOf = (spec: any): any[] => (Array.isArray(spec?.listeners) ? spec.listeners : []);

export const GATEWAY_CONVENTIONS: readonly Convention[] = [
  {
    name: 'passthrough-no-certificate-refs',
    basis: 'GatewayTLSConfig.mode docs: "The certificateRefs field is ignored in this mode"; the registry terminates TLS, a certificate on the Gateway would be a lie',
    check: (spec) => listenersOf(spec).flatMap((l, i) =>
      isPassthrough(l) && Array.isArray(l.tls.certificateRefs) && l.tls.certificateRefs.length > 0
        ? [{ path: `spec.listeners[${i}].tls.certificateRefs`, message: 'Forbidden: must be empty when tls.mode is Passthrough (the Gateway does not terminate TLS) (convention passthrough-no-certificate-refs)' }]
        : []),
  },
  {
    name: 'passthrough-allows-only-tlsroute',
    basis: 'conformance TLSRouteListenerPassthroughSupportedKinds: other kinds on a Passthrough listener give ResolvedRefs=False/InvalidRouteKinds',
    check: (spec) => listenersOf(spec).flatMap((l, i) =>
      (isPassthrough(l) && Array.isArray(l.allowedRoutes?.kinds) ? l.allowedRoutes.kinds : []).flatMap((k: any, j: number) =>
        (k?.group ?? GATEWAY_GROUP) === GATEWAY_GROUP && k?.kind === 'TLSRoute'
          ? []
          : [{ path: `spec.listeners[${i}].allowedRoutes.kinds[${j}]`, message: `Unsupported value: ${show(k)}: a Passthrough listener admits only {"group":"${GATEWAY_GROUP}","kind":"TLSRoute"} (convention passthrough-allows-only-tlsroute)` }])),
  },
  {
    name: 'namespace-selector-when-from-selector',
    basis: 'RouteNamespaces.selector docs: "Selector must be specified when From is set to Selector"; an empty selector selects every namespace; LabelSelector operator/values rules',
    check: (spec) => listenersOf(spec).flatMap((l, i) => {
      const ns = l?.allowedRoutes?.namespaces;
      const p = `spec.listeners[${i}].allowedRoutes.namespaces.selector`;
      if (ns?.from !== 'Selector') return [];
      const selector = ns.selector;
      const labels = Object.keys(selector?.matchLabels ?? {});
      const expressions: any[] = selector?.matchExpressions ?? [];
      if (labels.length === 0 && expressions.length === 0) {
        return [{ path: p, message: 'Required value: a non-empty selector is required when from is Selector (convention namespace-selector-when-from-selector)' }];
      }
      return expressions.flatMap((x, j) => {
        const xp = `${p}.matchExpressions[${j}]`;
        if (!SELECTOR_OPERATORS.includes(x.operator)) return [{ path: `${xp}.operator`, message: `Unsupported value: ${show(x.operator)}: supported values: ${SELECTOR_OPERATORS.map(show).join(', ')} (convention namespace-selector-when-from-selector)` }];
        const count = Array.isArray(x.values) ? x.values.length : 0;
        const needsValues = x.operator === 'In' || x.operator === 'NotIn';
        if (needsValues !== count > 0) return [{ path: `${xp}.values`, message: `Invalid value: ${show(x.values ?? null)}: must be ${needsValues ? 'non-empty' : 'empty'} for operator ${x.operator} (convention namespace-selector-when-from-selector)` }];
        return [];
      });
    }),
  },
  {
    name: 'listener-hostname-not-ip',
    basis: 'Hostname docs: "IPs are not allowed" (enforced by CEL on route hostnames, not on listener.hostname)',
    check: (spec) => listenersOf(spec).flatMap((l, i) =>
      typeof l?.hostname === 'string' && celIsIP(l.hostname)
        ? [{ path: `spec.listeners[${i}].hostname`, message: `Invalid value: ${show(l.hostname)}: must be a DNS name, not an IP (convention listener-hostname-not-ip)` }]
        : []),
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Entry points

/** The CRD a custom object is validated against: its schema file, group/version and kind. */
export interface CrdSchema {
  readonly dataDir: string;
  readonly schemaFile: string;
  readonly apiVersion: string;
  readonly kind: string;
}

/**
 * Errors that would keep `obj` out of an API server serving `crd` (envelope, defaulting, structural schema, the CEL
 * rules implemented here), plus `conventions`. Used for the Gateway API and the prometheus-operator objects.
 */
export function validateCustomObject(obj: unknown, crd: CrdSchema, conventions: readonly Convention[] = [], options: ValidateOptions = {}): GatewayApiError[] {
  if (!isObject(obj as Json)) return [{ path: '', message: `Invalid value: ${show(obj)}: must be an object`, origin: 'apiserver' }];
  const schema = loadSchema(crd.schemaFile, crd.dataDir);
  const errors = validateEnvelope(obj as JsonObject, crd.apiVersion, crd.kind);
  // The API server applies defaults to what it decoded, then validates the defaulted object.
  const defaulted = applyDefaults(clone(obj as JsonObject), schema, ['status']) as JsonObject;
  const walk: Walk = { errors: [], typeErrors: 0 };
  validateSchema(defaulted, schema, '', walk, true);
  errors.push(...walk.errors);
  if (walk.typeErrors > 0) {
    errors.push({ path: '', message: 'Invalid value: "object": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation', origin: 'cel', rule: 'blocked' });
  } else {
    validateCel(defaulted, schema, '', errors);
  }
  if (options.conventions !== false) {
    for (const c of conventions) for (const e of c.check(defaulted.spec)) errors.push({ ...e, origin: 'convention', rule: c.name });
  }
  return errors;
}

const gatewayCrd = (schemaFile: string, kind: string): CrdSchema => ({ dataDir: GATEWAY_API_DATA_DIR, schemaFile, apiVersion: `${GATEWAY_GROUP}/v1`, kind });

/** Errors that would keep `obj` (a gateway.networking.k8s.io/v1 TLSRoute) out of the API server, and broken conventions. */
export function validateTlsRoute(obj: unknown, options: ValidateOptions = {}): GatewayApiError[] {
  return validateCustomObject(obj, gatewayCrd('tlsroute-v1.schema.json', 'TLSRoute'), TLSROUTE_CONVENTIONS, options);
}

/** Errors that would keep `obj` (a gateway.networking.k8s.io/v1 Gateway) out of the API server, and broken conventions. */
export function validateGateway(obj: unknown, options: ValidateOptions = {}): GatewayApiError[] {
  return validateCustomObject(obj, gatewayCrd('gateway-v1.schema.json', 'Gateway'), GATEWAY_CONVENTIONS, options);
}

/** Every rule text in `schemaFile`'s x-kubernetes-validations with its path, message and whether it is implemented. */
export function celRulesOf(schemaFile: string): Array<{ path: string; message: string; rule: string; implementedAs?: string }> {
  const out: Array<{ path: string; message: string; rule: string; implementedAs?: string }> = [];
  const walk = (s: Schema, p: string) => {
    for (const { rule, message } of s['x-kubernetes-validations'] ?? []) out.push({ path: p, message: message ?? '', rule, implementedAs: CEL_RULES[rule]?.name });
    for (const [key, c] of Object.entries(s.properties ?? {})) walk(c, child(p, key));
    if (s.items) walk(s.items, `${p}[]`);
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${p}{}`);
  };
  walk(loadSchema(schemaFile), '');
  return out;
}
