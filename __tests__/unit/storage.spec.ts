import { environment, synth, only, address } from '../../harness/synth';
import { Storage } from '../../lib/storage';

describe('RegistryStorage', () => {
  describe('host-path (the default)', () => {
    const { json } = synth(environment('dev'));
    const pv = only(json, 'kubernetes_persistent_volume_v1');
    const pvc = only(json, 'kubernetes_persistent_volume_claim_v1');

    test('the volume is a hostPath kept on delete (Retain) and pinned to one node', () => {
      const spec = pv.spec[0];
      expect(spec.persistent_volume_reclaim_policy).toBe('Retain');
      expect(spec.persistent_volume_source.host_path).toEqual({ path: '${var.host_path}', type: 'DirectoryOrCreate' });
      expect(spec.node_affinity.required.node_selector_term[0].match_expressions[0]).toEqual({
        key: 'kubernetes.io/hostname',
        operator: 'In',
        values: ['${var.node_name}'],
      });
      expect(spec.capacity).toEqual({ storage: '${var.storage_size}' });
    });

    test('the claim binds that volume by name with an empty storage class, so no provisioner steals it', () => {
      expect(pv.spec[0].storage_class_name).toBe('');
      expect(pvc.spec.storage_class_name).toBe('');
      expect(pvc.spec.volume_name).toBe(`\${${address(json, 'kubernetes_persistent_volume_v1', 'storage/volume')}.metadata[0].name}`);
      expect(pvc.spec.access_modes).toEqual(['ReadWriteOnce']);
      expect(pvc.wait_until_bound).toBe(true);
    });

    test('the Deployment mounts that claim', () => {
      const deployment = only(json, 'kubernetes_deployment_v1');
      const data = deployment.spec.template.spec.volume.find((v: any) => v.name === 'data');
      expect(data.persistent_volume_claim.claim_name).toBe(
        `\${${address(json, 'kubernetes_persistent_volume_claim_v1', 'storage/claim')}.metadata[0].name}`,
      );
    });

    test('dev can be destroyed; prod refuses to destroy the volume and claim', () => {
      expect(pv.lifecycle).toEqual({ prevent_destroy: false });
      const prod = synth(environment('prod')).json;
      expect(only(prod, 'kubernetes_persistent_volume_v1').lifecycle).toEqual({ prevent_destroy: true });
      expect(only(prod, 'kubernetes_persistent_volume_claim_v1').lifecycle).toEqual({ prevent_destroy: true });
    });
  });

  test('storage-class: a provisioned claim, no volume, the default class when the variable is empty', () => {
    const { json } = synth(environment('dev', { storage: Storage.storageClass() }));
    expect(json.resource.kubernetes_persistent_volume_v1).toBeUndefined();
    const pvc = only(json, 'kubernetes_persistent_volume_claim_v1');
    expect(pvc.spec.storage_class_name).toBe('${var.storage_class == "" ? null : var.storage_class}');
    expect(pvc.spec.volume_name).toBeUndefined();
    expect(json.variable.host_path).toBeUndefined();
  });

  test('existing-claim: no volume or claim is created; the Deployment mounts the named claim', () => {
    const { json } = synth(environment('dev', { storage: Storage.existingClaim(), variables: { existing_claim: 'registry-data' } }));
    expect(json.resource.kubernetes_persistent_volume_v1).toBeUndefined();
    expect(json.resource.kubernetes_persistent_volume_claim_v1).toBeUndefined();
    const deployment = only(json, 'kubernetes_deployment_v1');
    const data = deployment.spec.template.spec.volume.find((v: any) => v.name === 'data');
    expect(data.persistent_volume_claim.claim_name).toBe('${var.existing_claim}');
  });
});
