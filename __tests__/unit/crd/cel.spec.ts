/**
 * harness/crd/cel.ts: `self` bound as the API server binds it, the CEL functions the pinned CRDs call (each
 * tested), rules that do not compile, and how a failed rule is reported (message, messageExpression, reason,
 * fieldPath, evaluation errors).
 */
import { compileExpression, escapePropertyName, isIP, KUBERNETES_FUNCTIONS, toCel } from '../../../harness/crd/cel';
import { compileSchemaOf, formatErrors, validateAgainst, type PinnedCrd, type Schema } from '../../../harness/crd';

const CRD: PinnedCrd = { release: 'gateway-api', group: 'example.com', version: 'v1', kind: 'Widget', scope: 'Namespaced', schemaFile: '<in memory>' };

/** Evaluates `expression` with `self` = `value` converted under `schema`. */
function evaluate(expression: string, value: unknown, schema?: Schema): unknown {
  return compileExpression(expression)({ self: toCel(value, schema) });
}

/** The errors of a Widget whose spec has `schema` (with `rules` on it) and value `spec`. */
function check(schema: Schema, spec: unknown): string[] {
  const compiled = compileSchemaOf(CRD, { type: 'object', properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec: schema } });
  return formatErrors(validateAgainst(compiled, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec }));
}

describe('crd cel', () => {
  describe('the functions the pinned CRDs call', () => {
    test('isIP (Kubernetes IP library): IPv4 and IPv6 addresses; not names, zones, leading zeros or IPv4-mapped IPv6', () => {
      expect(KUBERNETES_FUNCTIONS.map((f) => f.name)).toEqual(['isIP']);
      for (const ip of ['10.0.0.1', '255.255.255.255', 'fd00::1', '::1', '2001:db8::8a2e:370:7334']) expect([ip, isIP(ip)]).toEqual([ip, true]);
      for (const not of ['registry.example.internal', '10.0.0.300', '010.0.0.1', 'fe80::1%eth0', '::ffff:10.0.0.1', '0:0:0:0:0:ffff:a00:1', '']) expect([not, isIP(not)]).toEqual([not, false]);
      expect(evaluate("self.all(h, !isIP(h))", ['a.example', '10.0.0.1'], { type: 'array', items: { type: 'string' } })).toBe(false);
    });

    test('strings extension: split, substring, upperAscii', () => {
      expect(evaluate('self.split("/")[0].size() < 253', 'example.com/key', { type: 'string' })).toBe(true);
      expect(evaluate("self.substring(2)", '*.example.com', { type: 'string' })).toBe('example.com');
      expect(evaluate("self.upperAscii() in ['POST','PUT']", 'post', { type: 'string' })).toBe(true);
    });

    test('standard library as the rules use it: matches (RE2), duration, size, exists_one, filter, map literals', () => {
      expect(evaluate("self.matches(r\"\"\"^[a-z]+$\"\"\")", 'abc', { type: 'string' })).toBe(true);
      expect(evaluate("self.matches('^[a-z]+$')", 'aBc', { type: 'string' })).toBe(false);
      expect(evaluate("duration(self.a) < duration(self.b)", { a: '500ms', b: '1m' }, { type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' } } })).toBe(true);
      expect(evaluate('self.exists_one(x, x == 2)', [1, 2, 2], { type: 'array', items: { type: 'integer' } })).toBe(false);
      expect(evaluate('[has(self.a), has(self.b)].filter(x, x).size() == 1', { a: 1 }, { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } } })).toBe(true);
      expect(evaluate('{"1.2":3,"1.3":4}[self] <= 4', '1.3', { type: 'string' })).toBe(true);
    });
  });

  describe('self', () => {
    test('integers are CEL ints (arithmetic with literals works), numbers doubles', () => {
      expect(evaluate('self.port + 1 == 5001', { port: 5000 }, { type: 'object', properties: { port: { type: 'integer' } } })).toBe(true);
      expect(evaluate('self.ratio > 0.5', { ratio: 0.75 }, { type: 'object', properties: { ratio: { type: 'number' } } })).toBe(true);
    });

    test('a date-time string is a timestamp, a byte string bytes', () => {
      const schema: Schema = { type: 'object', properties: { at: { type: 'string', format: 'date-time' }, data: { type: 'string', format: 'byte' } } };
      expect(evaluate('self.at < timestamp("2027-01-01T00:00:00Z") && self.data == b"hi"', { at: '2026-12-03T07:00:00Z', data: 'aGk=' }, schema)).toBe(true);
    });

    test('property names are escaped as Kubernetes does (reserved words, dashes, dots, slashes, double underscores)', () => {
      expect(['namespace', 'in', 'x-y', 'a.b', 'a/b', 'a__b', 'plain', 'has space'].map(escapePropertyName)).toEqual([
        '__namespace__', '__in__', 'x__dash__y', 'a__dot__b', 'a__slash__b', 'a__underscores__b', 'plain', undefined,
      ]);
      const schema: Schema = { type: 'object', properties: { namespace: { type: 'string' }, 'x-y': { type: 'string' } } };
      expect(evaluate("self.__namespace__ == 'ns' && self.x__dash__y == 'v'", { namespace: 'ns', 'x-y': 'v' }, schema)).toBe(true);
    });

    test('undeclared fields are pruned before the rules run; map keys stay as written', () => {
      const schema: Schema = { type: 'object', properties: { a: { type: 'string' }, m: { type: 'object', additionalProperties: { type: 'string' } } } };
      expect(toCel({ a: 'x', extra: 1, m: { 'k.io/x': 'v' } }, schema)).toEqual({ a: 'x', m: { 'k.io/x': 'v' } });
    });

    test('at the root: apiVersion, kind and metadata.name/generateName only', () => {
      const compiled = compileSchemaOf(CRD, {
        type: 'object',
        properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } },
        'x-kubernetes-validations': [{ rule: "self.metadata.name == 'w' && !has(self.metadata.labels) && self.kind == 'Widget'", message: 'root self' }],
      });
      expect(validateAgainst(compiled, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', labels: { a: 'b' } } })).toEqual([]);
      expect(formatErrors(validateAgainst(compiled, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'v' } }))).toEqual([': Invalid value: root self']);
    });

    test('a rule runs only where its field is present, and transition rules (oldSelf) not at all on create', () => {
      const schema: Schema = {
        type: 'object',
        properties: {
          a: { type: 'string', 'x-kubernetes-validations': [{ rule: "self == 'ok'", message: 'a is ok' }] },
          b: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'b is immutable' }] },
        },
      };
      expect(check(schema, {})).toEqual([]);
      expect(check(schema, { a: 'ok', b: 'anything' })).toEqual([]);
      expect(check(schema, { a: 'no' })).toEqual(['spec.a: Invalid value: "no": a is ok']);
    });
  });

  describe('reporting', () => {
    const withRule = (rule: object): Schema => ({ type: 'object', properties: { n: { type: 'integer' }, m: { type: 'object', properties: { k: { type: 'string' } } } }, 'x-kubernetes-validations': [{ rule: 'self.n < 3', ...rule }] });

    test('message; without one "failed rule: <rule>"; messageExpression when it evaluates to a one-line string', () => {
      expect(check(withRule({ message: 'n must be below 3' }), { n: 3 })).toEqual(['spec: Invalid value: n must be below 3']);
      expect(check(withRule({}), { n: 3 })).toEqual(['spec: Invalid value: failed rule: self.n < 3']);
      expect(check(withRule({ message: 'fallback', messageExpression: "'n is ' + string(self.n)" }), { n: 7 })).toEqual(['spec: Invalid value: n is 7']);
      expect(check(withRule({ message: 'fallback', messageExpression: "''" }), { n: 7 })).toEqual(['spec: Invalid value: fallback']);
    });

    test('reason and fieldPath', () => {
      expect(check(withRule({ message: 'no', reason: 'FieldValueForbidden', fieldPath: '.m.k' }), { n: 3 })).toEqual(['spec.m.k: Forbidden: no']);
      expect(check(withRule({ message: 'needed', reason: 'FieldValueRequired', fieldPath: ".m['k']" }), { n: 3 })).toEqual(['spec.m.k: Required value: needed']);
      expect(() => check(withRule({ fieldPath: '.nope' }), {})).toThrow('fieldPath .nope does not refer to a valid field');
    });

    test('an evaluation error is reported with the rule, in cel-go\'s words', () => {
      expect(check(withRule({ rule: 'self.m.k == "x"', message: 'k is x' }), { n: 1, m: {} })).toEqual([
        'spec: Invalid value: "object": no such key: k evaluating rule: k is x',
      ]);
    });

    test('a rule that does not compile (syntax, an undeclared function) throws when the CRD is compiled', () => {
      expect(() => check(withRule({ rule: 'self.n <' }), {})).toThrow(/x-kubernetes-validations rule "self.n <" does not compile/);
      expect(() => check(withRule({ rule: 'quantity(self.q) == quantity("1")' }), {})).toThrow("undeclared reference to 'quantity'");
      expect(() => check(withRule({ rule: 'self.u.isURL()' }), {})).toThrow("undeclared reference to 'isURL'");
    });
  });
});
