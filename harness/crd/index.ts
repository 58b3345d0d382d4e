/**
 * One validator for every custom resource the stack emits: `validateCustomResource(object)` finds the pinned CRD
 * of the object's apiVersion and kind (harness/crd/catalog.ts, data in harness/data/<project>-<tag>/) and returns
 * the errors that would keep the object out of an API server serving that CRD, on create:
 *
 * 1. apiserver (object-meta.ts): apiVersion/kind of the endpoint; ObjectMeta.
 * 2. defaulting (schema.ts): nulls of non-nullable fields pruned, `default`s applied, on a copy.
 * 3. schema (schema.ts): the `openAPIV3Schema` with ajv, Kubernetes structural keywords handled, unknown fields an
 *    error (kubectl's default strict field validation); then x-kubernetes-list-type set/map uniqueness.
 * 4. cel (cel.ts): every `x-kubernetes-validations` rule, with @bufbuild/cel. As in the API server, no rule runs when
 *    a blocking schema error (type, required, enum, maxLength, maxItems/maxProperties) was found.
 *
 * Each CRD version is compiled once per process (schema check, ajv, every CEL rule) and cached. A CRD that uses a
 * keyword, format or CEL function this validator does not implement throws when it is compiled.
 *
 * Example:
 *   import { formatErrors, validateCustomResource } from '../harness/crd';
 *   expect(formatErrors(validateCustomResource(certificate))).toEqual([]);
 */
import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { findCrd, pinnedCrds, type PinnedCrd } from './catalog';
import { compileRule, evaluateRules, type CompiledRule } from './cel';
import { BLOCKING_TYPES, CEL_BLOCKED, childPath, isObject, show, type ValidationError } from './errors';
import { validateObjectMeta } from './object-meta';
import { applyDefaults, assertSupportedSchema, childSchema, compileSchema, validateListTypes, validateSchema, type Schema } from './schema';

export { findCrd, pinnedCrds, type PinnedCrd } from './catalog';
export { CEL_BLOCKED, formatErrors, type Origin, type ValidationError } from './errors';
export type { Schema } from './schema';

export interface CompiledCrd {
  readonly crd: PinnedCrd;
  readonly schema: Schema;
  readonly validate: ValidateFunction;
  /** The compiled rules of each schema node that has any. */
  readonly rules: ReadonlyMap<Schema, readonly CompiledRule[]>;
  /** How many rules the schema carries. */
  readonly ruleCount: number;
}

const cache = new Map<string, CompiledCrd>();

function compileRules(schema: Schema, where: string, out: Map<Schema, CompiledRule[]>): void {
  const rules = schema['x-kubernetes-validations'];
  if (rules?.length) out.set(schema, rules.map((r) => compileRule(r, schema, where)));
  for (const [key, prop] of Object.entries(schema.properties ?? {})) compileRules(prop, `${where}.${key}`, out);
  if (isObject(schema.additionalProperties)) compileRules(schema.additionalProperties as Schema, `${where}[*]`, out);
  if (schema.items) compileRules(schema.items, `${where}[]`, out);
}

/**
 * `schema` compiled as the openAPIV3Schema of `crd` (its schemaFile is not read): throws when it uses something this
 * validator does not implement. compileCrd() caches; this does not (specs use it for schemas of their own).
 */
export function compileSchemaOf(crd: PinnedCrd, schema: Schema): CompiledCrd {
  const where = `${crd.group}/${crd.version} ${crd.kind}`;
  assertSupportedSchema(schema, where);
  const rules = new Map<Schema, CompiledRule[]>();
  compileRules(schema, where, rules);
  return { crd, schema, validate: compileSchema(schema), rules, ruleCount: [...rules.values()].reduce((n, r) => n + r.length, 0) };
}

/** The pinned CRD version compiled, once per process. */
export function compileCrd(crd: PinnedCrd): CompiledCrd {
  let compiled = cache.get(crd.schemaFile);
  if (!compiled) {
    compiled = compileSchemaOf(crd, JSON.parse(readFileSync(crd.schemaFile, 'utf8')) as Schema);
    cache.set(crd.schemaFile, compiled);
  }
  return compiled;
}

/** Walks `value` alongside `schema`, evaluating the rules of every node whose value is present and not null. */
function walkRules(compiled: CompiledCrd, value: unknown, schema: Schema, path: string, errors: ValidationError[], root = false): void {
  if (value === null || value === undefined) return;
  const rules = compiled.rules.get(schema);
  if (rules) evaluateRules(rules, value, schema, path, root, errors);
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => walkRules(compiled, item, schema.items!, childPath(path, i, 'index'), errors));
  } else if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      const { schema: sub, kind } = childSchema(schema, key);
      if (sub && !(root && key === 'metadata')) walkRules(compiled, v, sub, childPath(path, key, kind), errors);
    }
  }
}

/** The errors of `object` against one compiled CRD version (see the module comment). */
export function validateAgainst(compiled: CompiledCrd, object: unknown): ValidationError[] {
  if (!isObject(object)) return [{ path: '', message: `Invalid value: ${show(object)}: must be an object`, origin: 'apiserver', type: 'TypeInvalid' }];
  const { crd, schema } = compiled;
  const errors = validateObjectMeta(object, { apiVersion: `${crd.group}/${crd.version}`, kind: crd.kind, scope: crd.scope });
  // The API server defaults what it decoded, then validates the defaulted object. `status` is not sent on create.
  const defaulted = JSON.parse(JSON.stringify(object));
  applyDefaults(defaulted, schema, ['status']);
  const schemaErrors = validateSchema(compiled.validate, schema, defaulted);
  validateListTypes(defaulted, schema, '', schemaErrors);
  errors.push(...schemaErrors);
  if (errors.some((e) => e.type !== undefined && BLOCKING_TYPES.has(e.type))) {
    errors.push({ path: '', message: CEL_BLOCKED.slice(2), origin: 'cel', type: 'Invalid' });
  } else {
    walkRules(compiled, defaulted, schema, '', errors, true);
  }
  return errors;
}

/**
 * The errors that would keep `object` out of an API server with the pinned CRD of its apiVersion and kind (empty
 * when it would be admitted). An apiVersion/kind with no pinned CRD is itself an error.
 */
export function validateCustomResource(object: unknown): ValidationError[] {
  const apiVersion = isObject(object) ? object.apiVersion : undefined;
  const kind = isObject(object) ? object.kind : undefined;
  const crd = typeof apiVersion === 'string' && typeof kind === 'string' ? findCrd(apiVersion, kind) : undefined;
  if (!crd) {
    const known = [...pinnedCrds().values()].map((c) => `${c.group}/${c.version} ${c.kind}`);
    return [{ path: 'kind', message: `Unsupported value: ${show(`${String(apiVersion)} ${String(kind)}`)}: no pinned CRD; pinned: ${known.join(', ')}`, origin: 'apiserver', type: 'NotSupported' }];
  }
  return validateAgainst(compileCrd(crd), object);
}

/**
 * The errors of `object` as the endpoint of `apiVersion` and `kind` would report them (an object of another
 * apiVersion or kind gets the API server's "Unsupported value" for those fields).
 */
export function validateAs(apiVersion: string, kind: string, object: unknown): ValidationError[] {
  const crd = findCrd(apiVersion, kind);
  if (!crd) throw new Error(`no pinned CRD serves ${apiVersion} ${kind}`);
  return validateAgainst(compileCrd(crd), object);
}

/** A copy of `object` with its CRD's defaults applied, as the API server stores it (for checks beyond the CRD). */
export function withDefaults<T>(object: T): T {
  const crd = isObject(object) && typeof object.apiVersion === 'string' && typeof object.kind === 'string' ? findCrd(object.apiVersion, object.kind) : undefined;
  const copy = JSON.parse(JSON.stringify(object ?? null));
  if (crd) applyDefaults(copy, compileCrd(crd).schema, ['status']);
  return copy;
}
