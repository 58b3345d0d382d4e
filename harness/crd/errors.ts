/** What the validator reports, shaped like the API server's field errors. */

/** Which check found the error. */
export type Origin = 'apiserver' | 'schema' | 'cel' | 'convention';

/**
 * The API server's field error types that matter here. CEL rules do not run when one of `BLOCKING_TYPES` occurs
 * (apiextensions-apiserver strategy.go hasBlockingErr).
 */
export type FieldErrorType = 'Required' | 'Invalid' | 'NotSupported' | 'TooLong' | 'TooMany' | 'TypeInvalid' | 'Duplicate' | 'Forbidden' | 'FieldValueUnknown';

/** The API server's line (path "") when a blocking error keeps the CEL rules from running. */
export const CEL_BLOCKED = ': Invalid value: "object": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

export const BLOCKING_TYPES: ReadonlySet<FieldErrorType> = new Set(['NotSupported', 'Required', 'TooLong', 'TooMany', 'TypeInvalid']);

export interface ValidationError {
  /** Kubernetes field path, e.g. `spec.listeners[0].tls`; map keys in brackets (`labels[app]`). */
  readonly path: string;
  /** Kubernetes-style detail, e.g. `Invalid value: 0: should be greater than or equal to 1`. */
  readonly message: string;
  readonly origin: Origin;
  readonly type?: FieldErrorType;
  /** For cel errors: the rule's text; for conventions: the convention's name. */
  readonly rule?: string;
}

/** `path: message`, one string per error. */
export function formatErrors(errors: readonly ValidationError[]): string[] {
  return errors.map((e) => `${e.path}: ${e.message}`);
}

export const show = (v: unknown): string => JSON.stringify(v);

/** A field path one step down: `.name` for a property, `[key]` for a map key, `[i]` for a list item. */
export function childPath(parent: string, key: string | number, kind: 'property' | 'key' | 'index' = 'property'): string {
  if (kind === 'property') return parent === '' ? String(key) : `${parent}.${key}`;
  return `${parent}[${key}]`;
}

export function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
