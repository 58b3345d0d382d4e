/** Each storage kind bound alone in an empty stack: what it creates and what it hands the registry pod. */
import { Storage } from '../../lib/storage';
import { CHOWN_DATA_SCRIPT } from '../../lib/storage/host-path';
import { environment, only, resourcesOf, synthConstruct } from '../../harness/synth';

const bindOptions = { namespace: 'registry', appName: 'registry', size: '5Gi', preventDestroy: true, image: 'registry:3.1.0' };

function bindAlone(storage: ReturnType<typeof Storage[keyof typeof Storage]>, variables: Record<string, unknown> = {}) {
  const env = environment('dev', { storage, variables });
  return synthConstruct((scope, vars) => storage.bind(scope, { ...bindOptions, variables: vars }), env);
}

describe('Storage.hostPath() alone', () => {
  test('a Retain volume pinned to the node, a claim bound to it by name, the data mounted from the claim', () => {
    // GIVEN host-path storage WHEN it is bound
    const { json, result, variables, resolve } = bindAlone(Storage.hostPath());
    // THEN the volume is one node's directory, kept on delete, and the claim can bind nothing else
    const volume = only(json, 'kubernetes_persistent_volume_v1');
    expect(volume.spec[0]).toMatchObject({
      persistent_volume_reclaim_policy: 'Retain', storage_class_name: '', access_modes: ['ReadWriteOnce'],
      persistent_volume_source: { host_path: { path: '${var.host_path}', type: 'DirectoryOrCreate' } },
    });
    expect(volume.spec[0].node_affinity.required.node_selector_term[0].match_expressions[0].values).toEqual(['${var.node_name}']);
    const claim = only(json, 'kubernetes_persistent_volume_claim_v1');
    expect(claim.spec.storage_class_name).toBe('');
    expect(claim.spec.volume_name).toMatch(/^\$\{kubernetes_persistent_volume_v1\.storage_volume_[A-F0-9]+\.metadata\[0\]\.name\}$/);
    expect(claim.wait_until_bound).toBe(true);
    for (const resource of [volume, claim]) expect(resource.lifecycle).toEqual({ prevent_destroy: true });
    // AND the pod gets the filesystem driver on that claim, no init step
    expect(result.driver).toEqual({ filesystem: { rootdirectory: '/var/lib/registry' } });
    expect(resolve(result.volumes)).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: expect.stringContaining('storage_claim') } }]);
    expect(result.volumeMounts).toEqual([{ name: 'data', mountPath: '/var/lib/registry' }]);
    expect(result.initContainers).toEqual([]);
    expect(variables.names.sort()).toEqual(['host_path', 'node_name']);
  });

  test('one replica, Recreate, restricted Pod Security; with chownDataDirectory an init step and baseline', () => {
    const plain = Storage.hostPath();
    expect([plain.maxReplicas, plain.rolloutStrategy, plain.podSecurityLevel]).toEqual([1, { type: 'Recreate' }, 'restricted']);
    const chown = Storage.hostPath({ chownDataDirectory: true });
    expect(chown.podSecurityLevel).toBe('baseline');
    const { result } = bindAlone(chown);
    expect(result.initContainers).toHaveLength(1);
    expect(result.initContainers[0].command).toEqual(['sh', '-c', CHOWN_DATA_SCRIPT]);
    expect(result.initContainers[0].securityContext?.capabilities).toEqual({ drop: ['ALL'], add: ['CHOWN'] });
  });

  test('fails when the host path default is relative (checked as the variable is declared)', () => {
    expect(() => bindAlone(Storage.hostPath(), { host_path: 'data' })).toThrow(/^environment dev: variables\.host_path: "data" is not allowed; expected an absolute path/);
  });
});

describe('Storage.storageClass() alone', () => {
  test('a provisioned claim of the class (or the default class when empty); no volume', () => {
    const { json, variables } = bindAlone(Storage.storageClass());
    expect(resourcesOf(json, 'kubernetes_persistent_volume_v1')).toEqual([]);
    const claim = only(json, 'kubernetes_persistent_volume_claim_v1');
    expect(claim.spec.storage_class_name).toBe('${var.storage_class == "" ? null : var.storage_class}');
    expect(claim.spec.access_modes).toEqual(['ReadWriteOnce']);
    expect(claim.wait_until_bound).toBe(false);
    expect(variables.names).toEqual(['storage_class']);
  });

  test('ReadWriteMany serves up to ten replicas with a rolling update; ReadWriteOnce one with Recreate', () => {
    const shared = Storage.storageClass({ accessMode: 'ReadWriteMany' });
    expect([shared.maxReplicas, shared.rolloutStrategy]).toEqual([10, { type: 'RollingUpdate' }]);
    expect(shared.replicaRules.map((r) => r.allowed)).toEqual(['a whole number from 1 to 10']);
    const single = Storage.storageClass();
    expect([single.maxReplicas, single.rolloutStrategy]).toEqual([1, { type: 'Recreate' }]);
    expect(single.replicaRules[0].test(2)).toBe(false);
    const { json } = bindAlone(shared);
    expect(only(json, 'kubernetes_persistent_volume_claim_v1').spec.access_modes).toEqual(['ReadWriteMany']);
  });
});

describe('Storage.existingClaim() alone', () => {
  test('creates nothing and mounts the named claim', () => {
    const { json, resolve, result } = bindAlone(Storage.existingClaim(), { existing_claim: 'registry-data' });
    expect(json.resource ?? {}).toEqual({});
    expect(resolve(result.volumes)).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: '${var.existing_claim}' } }]);
    expect(json.variable.existing_claim.default).toBe('registry-data');
  });

  test('fails when no claim is named', () => {
    expect(() => bindAlone(Storage.existingClaim(), { existing_claim: '' })).toThrow(/^environment dev: variables\.existing_claim: "" is not allowed; expected a DNS-1123 subdomain/);
  });
});
