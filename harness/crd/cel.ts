/**
 * `x-kubernetes-validations` rules evaluated with @bufbuild/cel, the way the API server evaluates them on create:
 *
 * - `self` is the value at the rule's schema node, converted as Kubernetes does (integers are CEL ints, date-time
 *   strings timestamps, byte strings bytes, objects maps of their declared properties only, with property names escaped: `namespace` -> `__namespace__`; at the
 *   resource root `self` has apiVersion, kind and metadata.name/generateName only). `oldSelf` does not exist:
 *   transition rules (those that use it) are not run on create.
 * - the environment is CEL's standard library, the strings extension, and the Kubernetes library functions that
 *   the pinned CRDs call (`KUBERNETES_FUNCTIONS`): a rule calling anything else fails to compile, and a rule that
 *   does not compile throws when its CRD is loaded (an error, not a skip).
 * - a rule is evaluated only where its field is present and not null; a false result is reported with its
 *   `message` (or `messageExpression`'s result, or "failed rule: <rule>"), `reason` and `fieldPath`, as
 *   apiextensions-apiserver's cel/validation.go does; an evaluation error as "<error> evaluating rule: <rule>".
 */
import { celEnv, celFunc, CelScalar, isCelError, parse, plan } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import * as net from 'node:net';
import { childPath, isObject, show, type ValidationError } from './errors';
import { childSchema, STRING_FORMATS, type Schema, type ValidationRule } from './schema';

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes CEL library: only what the pinned CRDs call (harness/crd/README.md lists the calls per CRD).

/**
 * Kubernetes `isIP(string) bool` (k8s.io/apiserver/pkg/cel/library/ip.go): true for an IPv4 or IPv6 address as
 * netip.ParseAddr accepts it, but not with a zone (`fe80::1%eth0`) and not IPv4-mapped IPv6 (`::ffff:1.2.3.4`).
 */
export function isIP(s: string): boolean {
  if (s.includes('%') || net.isIP(s) === 0) return false;
  return !(net.isIPv6(s) && isIPv4MappedIPv6(s));
}

/** `::ffff:a.b.c.d` in any spelling: the first 80 bits zero, the next 16 all ones. */
function isIPv4MappedIPv6(s: string): boolean {
  const [head, tail = ''] = s.toLowerCase().split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['v4', 'v4'] : [g])));
  const left = groups(head);
  const right = s.includes('::') ? groups(tail) : [];
  const all = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return all.slice(0, 5).every((g) => g !== 'v4' && parseInt(g, 16) === 0) && all[5] !== 'v4' && parseInt(all[5], 16) === 0xffff;
}

export const KUBERNETES_FUNCTIONS = [celFunc('isIP', [CelScalar.STRING], CelScalar.BOOL, (s: string) => isIP(s))];

const env = celEnv({ funcs: [...strings, ...KUBERNETES_FUNCTIONS], variables: { self: CelScalar.DYN } });

/** CEL operators and macros the planner implements itself (not functions of the environment). */
const BUILTIN_CALL = /^[_@!-]/;

/** Every function name called in a parsed expression. */
function calledFunctions(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const n of node) calledFunctions(n, out);
  else if (isObject(node)) {
    const kind = node.exprKind as { case?: string; value?: { function?: string } } | undefined;
    if (kind?.case === 'callExpr' && kind.value?.function) out.add(kind.value.function);
    for (const [key, v] of Object.entries(node)) if (key !== '$typeName' && typeof v === 'object') calledFunctions(v, out);
  }
  return out;
}

type Program = (ctx: { self: any }) => unknown;

export interface CompiledRule {
  readonly rule: ValidationRule;
  readonly program: Program;
  readonly message?: Program;
  /** The rule uses oldSelf: a transition rule, not run on create. */
  readonly transition: boolean;
  /** `fieldPath` as path segments below the rule's field. */
  readonly fieldPath: Array<{ key: string; kind: 'property' | 'key' }>;
}

const compiled = new Map<string, Program>();

/** The functions (not operators or macros) `expression` calls, e.g. `isIP`, `matches`, `size`. */
export function functionsCalled(expression: string): string[] {
  return [...calledFunctions(parse(expression).expr)].filter((name) => !BUILTIN_CALL.test(name)).sort();
}

/** Parses and plans `expression`; throws when it does not parse or calls a function the environment lacks. */
export function compileExpression(expression: string): Program {
  let program = compiled.get(expression);
  if (!program) {
    const parsed = parse(expression);
    for (const name of calledFunctions(parsed.expr)) {
      if (!BUILTIN_CALL.test(name) && !env.funcs.find(name)) throw new Error(`undeclared reference to '${name}'`);
    }
    program = plan(env, parsed) as Program;
    compiled.set(expression, program);
  }
  return program;
}

/** `.a.b['c']` -> segments; the schema decides whether a segment is a property or a map key. */
function parseFieldPath(fieldPath: string, schema: Schema): Array<{ key: string; kind: 'property' | 'key' }> {
  const out: Array<{ key: string; kind: 'property' | 'key' }> = [];
  let s: Schema | undefined = schema;
  const re = /\.([A-Za-z_][A-Za-z0-9_-]*)|\['((?:[^'\\]|\\.)*)'\]/y;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < fieldPath.length && (m = re.exec(fieldPath))) {
    const key = m[1] ?? m[2].replace(/\\(.)/g, '$1');
    const next: { schema?: Schema; kind: 'property' | 'key' } = s ? childSchema(s, key) : { kind: 'property' };
    if (!next.schema) throw new Error(`fieldPath ${fieldPath} does not refer to a valid field`);
    out.push({ key, kind: next.kind });
    s = next.schema;
    at = re.lastIndex;
  }
  if (at !== fieldPath.length) throw new Error(`fieldPath ${fieldPath} is not a path this validator parses`);
  return out;
}

/** Compiles a rule at the schema node `schema`; throws (naming `where`) when it cannot be compiled. */
export function compileRule(rule: ValidationRule, schema: Schema, where: string): CompiledRule {
  try {
    return {
      rule,
      program: compileExpression(rule.rule),
      message: rule.messageExpression !== undefined ? compileExpression(rule.messageExpression) : undefined,
      transition: /\boldSelf\b/.test(rule.rule),
      fieldPath: rule.fieldPath ? parseFieldPath(rule.fieldPath, schema) : [],
    };
  } catch (e) {
    throw new Error(`${where}: x-kubernetes-validations rule ${show(rule.rule)} does not compile: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Values

const CEL_RESERVED = new Set([
  'true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let',
  'loop', 'package', 'namespace', 'return', 'var', 'void', 'while',
]);

/** A property name as CEL rules spell it (k8s.io/apiserver/pkg/cel escaping), or undefined when not accessible. */
export function escapePropertyName(name: string): string | undefined {
  if (CEL_RESERVED.has(name)) return `__${name}__`;
  const escaped = name.replace(/__/g, '__underscores__').replace(/\./g, '__dot__').replace(/-/g, '__dash__').replace(/\//g, '__slash__');
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(escaped) ? escaped : undefined;
}

/** `value` as a CEL value under `schema`: declared properties only (escaped), integers as CEL ints. */
export function toCel(value: unknown, schema: Schema | undefined, root = false): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return schema?.type === 'number' || !Number.isInteger(value) ? value : BigInt(value);
  // Kubernetes gives rules a date-time string as a timestamp and a byte string as bytes.
  if (typeof value === 'string' && schema?.format === 'date-time' && STRING_FORMATS['date-time'](value)) return timestampFromDate(new Date(value.replace(' ', 'T')));
  if (typeof value === 'string' && schema?.format === 'byte' && STRING_FORMATS.byte(value)) return new Uint8Array(Buffer.from(value, 'base64'));
  if (Array.isArray(value)) return value.map((item) => toCel(item, schema?.items));
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    const dynamic = !schema || (!schema.properties && !isObject(schema.additionalProperties));
    for (const [key, v] of Object.entries(value)) {
      if (root && key === 'metadata' && isObject(v)) {
        out.metadata = Object.fromEntries(['name', 'generateName'].filter((k) => typeof v[k] === 'string').map((k) => [k, v[k]]));
      } else if (schema?.properties?.[key]) {
        const name = escapePropertyName(key);
        if (name) out[name] = toCel(v, schema.properties[key]);
      } else if (isObject(schema?.additionalProperties)) {
        out[key] = toCel(v, schema!.additionalProperties as Schema);
      } else if (dynamic || (root && (key === 'apiVersion' || key === 'kind'))) {
        out[key] = toCel(v, undefined);
      }
      // otherwise an unknown field: pruned by the API server before the rules run
    }
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

/** The `Invalid value` of a rule that could not be evaluated: the schema type of the field ("object", "array" …). */
const schemaTypeOf = (schema: Schema, value: unknown) => schema.type ?? (Array.isArray(value) ? 'array' : isObject(value) ? 'object' : typeof value);

/**
 * A failed rule as the API server words it (field.Error since Kubernetes 1.35, kubernetes#133832): the value is
 * shown for a scalar (`Invalid value: "abc": <detail>`) and omitted for an object or a list
 * (`Invalid value: <detail>`).
 */
function ruleError(path: string, value: unknown, detail: string, rule: ValidationRule): ValidationError {
  const base = { path, origin: 'cel' as const, rule: rule.rule };
  const shown = Array.isArray(value) || isObject(value) ? '' : `: ${show(value)}`;
  switch (rule.reason) {
    case 'FieldValueForbidden':
      return { ...base, message: `Forbidden: ${detail}`, type: 'Forbidden' };
    case 'FieldValueRequired':
      return { ...base, message: `Required value: ${detail}`, type: 'Required' };
    case 'FieldValueDuplicate':
      return { ...base, message: `Duplicate value${shown}`, type: 'Duplicate' };
    default:
      return { ...base, message: `Invalid value${shown}: ${detail}`, type: 'Invalid' };
  }
}

const ruleErrorString = (rule: ValidationRule) => (rule.message ? rule.message.trim() : rule.rule.trim());

/** Runs the compiled rules of one schema node on `value` (present, not null), pushing the failures. */
export function evaluateRules(rules: readonly CompiledRule[], value: unknown, schema: Schema, path: string, root: boolean, errors: ValidationError[]): void {
  const type = schemaTypeOf(schema, value);
  const self = toCel(value, schema, root);
  for (const c of rules) {
    if (c.transition) continue;
    const result = c.program({ self });
    if (isCelError(result)) {
      // cel-go's wording of a missing field, which the API server reports.
      const detail = result.message.replace(/^field not found: /, 'no such key: ');
      errors.push({ path, message: `Invalid value: "${type}": ${detail} evaluating rule: ${ruleErrorString(c.rule)}`, origin: 'cel', type: 'Invalid', rule: c.rule.rule });
      continue;
    }
    if (result === true) continue;
    let detail = c.rule.message?.trim() || `failed rule: ${ruleErrorString(c.rule)}`;
    if (c.message) {
      const m = c.message({ self });
      if (typeof m === 'string' && m.trim() !== '' && !m.includes('\n')) detail = m.trim();
    }
    const at = c.fieldPath.reduce((p, seg) => childPath(p, seg.key, seg.kind), path);
    errors.push(ruleError(at, value, detail, c.rule));
  }
}
