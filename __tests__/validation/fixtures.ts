/**
 * Environments and synthesis shared by the validation and security tests: the project's own environments plus
 * two that exercise the other structural choices (provided TLS, shared storage-class storage, configmap-only and
 * no exposure, an existing claim).
 */
import { ENVIRONMENTS, type EnvironmentSettings, type VariableDefaults } from '../../lib/environments';

export { buildStack, synth } from '../support/synth';

const dev = ENVIRONMENTS.find((e) => e.name === 'dev')!;

export const TEST_ENVIRONMENTS: readonly EnvironmentSettings[] = [
  ...ENVIRONMENTS,
  {
    name: 'shared',
    tlsMode: 'provided',
    storageKind: 'storage-class',
    storageAccessMode: 'ReadWriteMany',
    exposure: 'configmap-only',
    serviceType: 'ClusterIP',
    preventDestroy: true,
    defaults: { ...dev.defaults, replicas: 2, storageClass: 'nfs-client' },
  },
  {
    name: 'claim',
    tlsMode: 'generated',
    storageKind: 'existing-claim',
    exposure: 'none',
    serviceType: 'LoadBalancer',
    defaults: { ...dev.defaults, existingClaim: 'registry-data', monitoringNamespace: 'monitoring' },
  },
];

export function environment(name: string): EnvironmentSettings {
  const env = TEST_ENVIRONMENTS.find((e) => e.name === name);
  if (!env) throw new Error(`no test environment ${name}`);
  return env;
}

/** The same environment with some variable defaults replaced. */
export function withDefaults(env: EnvironmentSettings, defaults: Partial<VariableDefaults>): EnvironmentSettings {
  return { ...env, defaults: { ...env.defaults, ...defaults } };
}

/** A stack's cdk.tf.json, parsed. */
export type TerraformJson = Record<string, any>;

/** Every resource of a type in a synthesized stack, as a list. */
export function resourcesOf(json: TerraformJson, type: string): any[] {
  return Object.values(json.resource?.[type] ?? {});
}
