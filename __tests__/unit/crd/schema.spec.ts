/**
 * harness/crd/schema.ts: the Kubernetes structural-schema keywords, each on a small CRD of its own, with an object
 * that passes and one that fails with the API server's wording; and the keywords the validator refuses.
 */
import { CEL_BLOCKED as BLOCKED, compileSchemaOf, formatErrors, validateAgainst, type PinnedCrd, type Schema } from '../../../harness/crd';

const CRD: PinnedCrd = { release: 'gateway-api', group: 'example.com', version: 'v1', kind: 'Widget', scope: 'Namespaced', schemaFile: '<in memory>' };

/** A Widget CRD whose spec is `spec`. */
function widgetSchema(spec: Schema): Schema {
  return { type: 'object', properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec } };
}

/** The errors of a Widget with `spec` under a CRD whose spec schema is `schema`. */
function check(schema: Schema, spec: unknown, scope: PinnedCrd['scope'] = 'Namespaced'): string[] {
  const compiled = compileSchemaOf({ ...CRD, scope }, widgetSchema(schema));
  return formatErrors(validateAgainst(compiled, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec }));
}

const UNKNOWN = 'Unknown field: not declared in the schema (strict field validation)';

describe('crd schema keywords', () => {
  test('strict field validation: an undeclared field is an error, at any depth, also in an object with no properties', () => {
    const schema: Schema = { type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'string' } } }, empty: { type: 'object' } } };
    expect(check(schema, { a: { b: 'x' }, empty: {} })).toEqual([]);
    expect(check(schema, { a: { b: 'x', c: 1 }, empty: { d: 1 }, e: true }).sort()).toEqual([`spec.a.c: ${UNKNOWN}`, `spec.e: ${UNKNOWN}`, `spec.empty.d: ${UNKNOWN}`]);
  });

  test('x-kubernetes-preserve-unknown-fields: any field below it is kept; its siblings stay strict', () => {
    const schema: Schema = { type: 'object', properties: { free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, strict: { type: 'object', properties: {} } } };
    expect(check(schema, { free: { anything: { nested: [1, 'two'] } } })).toEqual([]);
    expect(check(schema, { strict: { anything: 1 } })).toEqual([`spec.strict.anything: ${UNKNOWN}`]);
  });

  test('additionalProperties: a map whose values have a schema; its keys print in brackets', () => {
    const schema: Schema = { type: 'object', properties: { labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 3 } } } };
    expect(check(schema, { labels: { a: 'x', 'b.c/d': 'yz' } })).toEqual([]);
    expect(check(schema, { labels: { 'b.c/d': 7 } })).toEqual(['spec.labels[b.c/d]: Invalid value: "integer": must be of type string: 7', BLOCKED]);
  });

  test('x-kubernetes-int-or-string: an integer or a string, nothing else (a type error, which blocks CEL)', () => {
    const schema: Schema = { type: 'object', properties: { port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] } } };
    expect(check(schema, { port: 8080 })).toEqual([]);
    expect(check(schema, { port: 'http' })).toEqual([]);
    expect(check(schema, { port: true })).toEqual([
      'spec.port: Invalid value: true: must validate at least one schema (anyOf)',
      'spec.port: Invalid value: "boolean": must be of type integer or string: true',
      BLOCKED,
    ]);
    expect(check(schema, { port: 1.5 })).toContain('spec.port: Invalid value: "number": must be of type integer or string: 1.5');
  });

  test('x-kubernetes-embedded-resource: apiVersion and kind required, metadata allowed, the rest by its schema', () => {
    const schema: Schema = { type: 'object', properties: { template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: { type: 'object', properties: { replicas: { type: 'integer' } } } } } } };
    expect(check(schema, { template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: 'b' } }, spec: { replicas: 1 } } })).toEqual([]);
    expect(check(schema, { template: { spec: { replicas: 1, other: 1 } } }).sort()).toEqual([
      BLOCKED,
      'spec.template.apiVersion: Required value',
      'spec.template.kind: Required value',
      `spec.template.spec.other: ${UNKNOWN}`,
    ]);
  });

  test('x-kubernetes-list-type set: no two equal items; map: no two items with equal keys; atomic: duplicates allowed', () => {
    const schema: Schema = {
      type: 'object',
      properties: {
        set: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
        map: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name', 'port'], items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer' }, note: { type: 'string' } } } },
        atomic: { type: 'array', 'x-kubernetes-list-type': 'atomic', items: { type: 'string' } },
      },
    };
    expect(check(schema, { set: ['a', 'b'], map: [{ name: 'a', port: 1 }, { name: 'a', port: 2 }], atomic: ['x', 'x'] })).toEqual([]);
    expect(check(schema, { set: ['a', 'b', 'a'], map: [{ name: 'a', port: 1, note: 'x' }, { name: 'a', port: 1, note: 'y' }] })).toEqual([
      'spec.set[2]: Duplicate value: "a"',
      'spec.map[1]: Duplicate value: {"name":"a","port":1}',
    ]);
  });

  test('x-kubernetes-map-type: atomic and granular change merging, not validation; another value is refused', () => {
    const schema = (mapType: string): Schema => ({ type: 'object', properties: { sel: { type: 'object', 'x-kubernetes-map-type': mapType as 'atomic', properties: { a: { type: 'string' } } } } });
    expect(check(schema('atomic'), { sel: { a: 'x' } })).toEqual([]);
    expect(check(schema('granular'), { sel: { a: 'x' } })).toEqual([]);
    expect(() => check(schema('sometimes'), {})).toThrow('x-kubernetes-map-type sometimes is not implemented');
  });

  test('nullable: null kept where nullable; elsewhere pruned (and then a required field is missing), or replaced by the default', () => {
    const schema: Schema = {
      type: 'object',
      required: ['must'],
      properties: { maybe: { type: 'string', nullable: true }, must: { type: 'string' }, withDefault: { type: 'string', default: 'd' } },
      'x-kubernetes-validations': [{ rule: "self.withDefault == 'd'", message: 'withDefault is its default' }],
    };
    expect(check(schema, { maybe: null, must: 'x', withDefault: null })).toEqual([]);
    expect(check(schema, { must: null })).toEqual(['spec.must: Required value', BLOCKED]);
    expect(check({ type: 'array', items: { type: 'string' } }, ['a', null])).toEqual(['spec[1]: Invalid value: "null": must be of type string: null', BLOCKED]);
  });

  test('defaults are applied before validation, also inside list items, and CEL rules see them', () => {
    const schema: Schema = {
      type: 'object',
      properties: {
        mode: { type: 'string', default: 'Terminate', enum: ['Terminate', 'Passthrough'] },
        items: { type: 'array', items: { type: 'object', properties: { weight: { type: 'integer', default: 1, minimum: 1 } } } },
      },
      'x-kubernetes-validations': [{ rule: "self.mode == 'Passthrough' || self.items.all(i, i.weight == 1)", message: 'Terminate needs weight 1' }],
    };
    expect(check(schema, { items: [{}, {}] })).toEqual([]);
    expect(check(schema, { items: [{}, { weight: 2 }] })).toEqual(['spec: Invalid value: Terminate needs weight 1']);
  });

  test('formats Kubernetes checks on strings: date-time, byte, ipv4, ipv6; int32/int64 are not checked', () => {
    const schema: Schema = {
      type: 'object',
      properties: { at: { type: 'string', format: 'date-time' }, data: { type: 'string', format: 'byte' }, v4: { type: 'string', format: 'ipv4' }, v6: { type: 'string', format: 'ipv6' }, n: { type: 'integer', format: 'int32' } },
    };
    expect(check(schema, { at: '2026-12-03T07:00:00Z', data: 'aGVsbG8=', v4: '10.0.0.1', v6: 'fd00::1', n: 2 ** 40 })).toEqual([]);
    expect(check(schema, { at: 'yesterday', data: 'not base64!', v4: '10.0.0.300', v6: '10.0.0.1' })).toEqual([
      'spec.at: Invalid value: "yesterday": must be of format date-time',
      'spec.data: Invalid value: "not base64!": must be of format byte',
      'spec.v4: Invalid value: "10.0.0.300": must be of format ipv4',
      'spec.v6: Invalid value: "10.0.0.1": must be of format ipv6',
    ]);
    expect(() => check({ type: 'string', format: 'uuid' }, 'x')).toThrow('format uuid is not implemented');
  });

  test('pattern is Go regexp (RE2): what RE2 cannot compile (a lookahead) is refused when the CRD is compiled', () => {
    expect(check({ type: 'string', pattern: '^[a-z]+$' }, 'abc')).toEqual([]);
    expect(check({ type: 'string', pattern: '^[a-z]+$' }, 'aBc')).toEqual(["spec: Invalid value: \"aBc\": should match '^[a-z]+$'"]);
    expect(() => check({ type: 'string', pattern: '^(?=a)' }, 'a')).toThrow();
  });

  test('value limits: lengths, bounds (OpenAPI v3.0 boolean exclusiveMinimum), items, properties, enum', () => {
    const schema: Schema = {
      type: 'object',
      properties: {
        s: { type: 'string', minLength: 2, maxLength: 3 },
        n: { type: 'integer', minimum: 0, exclusiveMinimum: true, maximum: 10 },
        l: { type: 'array', minItems: 1, maxItems: 2, items: { type: 'string' } },
        m: { type: 'object', minProperties: 1, additionalProperties: { type: 'string' } },
        e: { type: 'string', enum: ['A', 'B'] },
      },
    };
    expect(check(schema, { s: 'ab', n: 1, l: ['x'], m: { a: 'b' }, e: 'A' })).toEqual([]);
    expect(check(schema, { s: 'a', n: 0, l: [], m: {} })).toEqual([
      'spec.s: Invalid value: "a": should be at least 2 chars long',
      'spec.n: Invalid value: 0: should be greater than 0',
      'spec.l: Invalid value: 0: should have at least 1 items',
      'spec.m: Invalid value: 0: should have at least 1 properties',
    ]);
    expect(check(schema, { s: 'abcd', n: 11, l: ['x', 'y', 'z'], e: 'C' })).toEqual([
      'spec.s: Too long: may not be more than 3 characters',
      'spec.n: Invalid value: 11: should be less than or equal to 10',
      'spec.l: Too many: 3: must have at most 2 items',
      'spec.e: Unsupported value: "C": supported values: "A", "B"',
      BLOCKED,
    ]);
  });

  test('ObjectMeta: a cluster-scoped kind takes no namespace; label keys and values are checked', () => {
    const compiled = compileSchemaOf({ ...CRD, scope: 'Cluster' }, widgetSchema({ type: 'object' }));
    const errors = (metadata: object) => formatErrors(validateAgainst(compiled, { apiVersion: 'example.com/v1', kind: 'Widget', metadata, spec: {} }));
    expect(errors({ name: 'w', labels: { 'app.kubernetes.io/name': 'w' } })).toEqual([]);
    expect(errors({ name: 'w', namespace: 'default', labels: { 'bad key/x/y': 'w' } })).toEqual([
      'metadata.namespace: Forbidden: not allowed on a cluster-scoped resource (Widget)',
      'metadata.labels: Invalid value: "bad key/x/y": a qualified name must consist of an optional DNS subdomain prefix and "/" and a name',
    ]);
  });

  test('keywords the validator does not handle are refused when the CRD is compiled, not ignored', () => {
    expect(() => check({ type: 'object', $ref: '#/x' } as Schema, {})).toThrow('schema keyword $ref is not implemented by this validator');
    expect(() => check({ type: 'object', 'x-kubernetes-foo': true } as Schema, {})).toThrow('schema keyword x-kubernetes-foo is not implemented');
    expect(() => check({ type: 'object', 'x-kubernetes-validations': [{ rule: 'true', optionalOldSelf: true }] } as unknown as Schema, {})).toThrow('x-kubernetes-validations field optionalOldSelf is not implemented');
    expect(() => check({ type: 'object', anyOf: [{ 'x-kubernetes-validations': [{ rule: 'true' }] }] } as Schema, {})).toThrow('inside anyOf/oneOf/allOf/not is not structural');
    expect(() => check({ type: 'null' } as unknown as Schema, {})).toThrow('type null is not implemented');
  });
});
