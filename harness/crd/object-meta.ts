/**
 * What the API server checks of any object before its CRD's schema: the endpoint's apiVersion and kind, and
 * ObjectMeta (name or generateName, namespace for a namespaced kind and none for a cluster-scoped one, label and
 * annotation keys, label values). The CRD schema says only `metadata: {type: object}`.
 */
import { childPath, isObject, show, type ValidationError } from './errors';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const OBJECT_META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

function keyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'a qualified name must consist of an optional DNS subdomain prefix and "/" and a name';
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return 'prefix part must be a lowercase RFC 1123 subdomain';
  if (name.length > 63 || !QUALIFIED_NAME.test(name)) return 'name part must consist of alphanumeric characters, "-", "_" or ".", start and end with an alphanumeric character, at most 63 characters';
  return undefined;
}

export interface Endpoint {
  readonly apiVersion: string;
  readonly kind: string;
  readonly scope: 'Namespaced' | 'Cluster';
}

export function validateObjectMeta(obj: Record<string, unknown>, endpoint: Endpoint): ValidationError[] {
  const errors: ValidationError[] = [];
  const e = (path: string, message: string, type: ValidationError['type']) => errors.push({ path, message, origin: 'apiserver', type });
  if (obj.apiVersion !== endpoint.apiVersion) e('apiVersion', obj.apiVersion !== undefined ? `Unsupported value: ${show(obj.apiVersion)}: supported values: "${endpoint.apiVersion}"` : 'Required value', obj.apiVersion !== undefined ? 'NotSupported' : 'Required');
  if (obj.kind !== endpoint.kind) e('kind', obj.kind !== undefined ? `Unsupported value: ${show(obj.kind)}: supported values: "${endpoint.kind}"` : 'Required value', obj.kind !== undefined ? 'NotSupported' : 'Required');
  const meta = obj.metadata;
  if (!isObject(meta)) {
    e('metadata', 'Required value', 'Required');
    return errors;
  }
  for (const key of Object.keys(meta)) if (!OBJECT_META_FIELDS.has(key)) e(childPath('metadata', key), 'Unknown field: not a field of ObjectMeta', 'FieldValueUnknown');
  if (meta.name === undefined && meta.generateName === undefined) e('metadata.name', 'Required value: name or generateName is required', 'Required');
  if (meta.name !== undefined && (typeof meta.name !== 'string' || meta.name.length > 253 || !DNS1123_SUBDOMAIN.test(meta.name))) {
    e('metadata.name', `Invalid value: ${show(meta.name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`, 'Invalid');
  }
  if (endpoint.scope === 'Cluster' && meta.namespace !== undefined) {
    e('metadata.namespace', `Forbidden: not allowed on a cluster-scoped resource (${endpoint.kind})`, 'Forbidden');
  }
  // A namespaced object without metadata.namespace goes to the client's default namespace: not an error here.
  if (endpoint.scope === 'Namespaced' && meta.namespace !== undefined && (typeof meta.namespace !== 'string' || meta.namespace.length > 63 || !DNS1123_LABEL.test(meta.namespace))) {
    e('metadata.namespace', `Invalid value: ${show(meta.namespace)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`, 'Invalid');
  }
  for (const field of ['labels', 'annotations'] as const) {
    if (meta[field] === undefined) continue;
    const map = meta[field];
    if (!isObject(map)) {
      e(`metadata.${field}`, `Invalid value: ${show(map)}: must be a map of strings`, 'TypeInvalid');
      continue;
    }
    for (const [key, value] of Object.entries(map)) {
      const problem = keyProblem(key);
      if (problem) e(`metadata.${field}`, `Invalid value: ${show(key)}: ${problem}`, 'Invalid');
      if (typeof value !== 'string') e(childPath(`metadata.${field}`, key, 'key'), `Invalid value: ${show(value)}: must be a string`, 'TypeInvalid');
      else if (field === 'labels' && (value.length > 63 || !LABEL_VALUE.test(value))) e(childPath('metadata.labels', key, 'key'), `Invalid value: ${show(value)}: a valid label value must be 63 characters or less, alphanumeric, '-', '_' or '.'`, 'Invalid');
    }
  }
  return errors;
}
