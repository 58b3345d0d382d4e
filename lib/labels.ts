/**
 * Labels: one place decides what every resource of this stack carries. `app.kubernetes.io/managed-by` tells an
 * operator which tool owns an object (and `kubectl get -l` finds them all); `component` says what it is for.
 */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'private-registry-stack' } as const;

/** What a resource is part of: the registry itself, its TLS, auth, storage, cache, pull secrets, node trust or operations. */
export type Component = 'registry' | 'tls' | 'auth' | 'storage' | 'cache' | 'pull-secret' | 'node-trust' | 'exposure' | 'garbage-collection' | 'mirror' | 'monitoring';

/** The labels that select a workload's pods: its name and component. */
export function selectorLabels(name: string, component: Component): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': component };
}

/** Labels of a resource that belongs to `component` (and, like everything here, is managed by this stack). */
export function componentLabels(component: Component): Record<string, string> {
  return { 'app.kubernetes.io/component': component, ...MANAGED_BY };
}

/** Labels of a workload and everything named after it: its selector labels plus managed-by. */
export function workloadLabels(name: string, component: Component): Record<string, string> {
  return { ...selectorLabels(name, component), ...MANAGED_BY };
}
