import { environment, synth, only } from '../../harness/synth';
import { CHOWN_DATA_SCRIPT } from '../../lib/storage/host-path';
import { Storage } from '../../lib/storage';

const podOf = (json: any) => only(json, 'kubernetes_deployment_v1').spec.template.spec;
const labelsOf = (json: any) => json.resource.kubernetes_namespace_v1.namespace.metadata.labels;

describe('registry pod seLinuxOptions from the environment', () => {
  test('absent by default', () => {
    expect(podOf(synth(environment('dev')).json).security_context.se_linux_options).toBeUndefined();
  });

  test('level and type reach the pod security context', () => {
    const { json } = synth(environment('dev', { seLinuxOptions: { level: 's0:c123,c456', type: 'container_t' } }));
    expect(podOf(json).security_context.se_linux_options).toEqual({ level: 's0:c123,c456', type: 'container_t' });
  });

  test.each([
    [{ level: 'c123,c456' }, 'seLinuxOptions.level: "c123,c456" is not allowed; expected an SELinux level such as s0:c123,c456'],
    [{ level: 's0:c1,' }, 'seLinuxOptions.level: "s0:c1," is not allowed'],
    [{ type: 'container t' }, 'seLinuxOptions.type: "container t" is not allowed; expected an SELinux name'],
    [{ user: 'System_u' }, 'seLinuxOptions.user: "System_u" is not allowed'],
    [{ levle: 's0' }, 'seLinuxOptions.levle: is not allowed; expected one of level, role, type, user.'],
  ])('fails when seLinuxOptions is %j', (options, message) => {
    expect(() => synth(environment('dev', { seLinuxOptions: options as any }))).toThrow(message);
  });
});

describe('opt-in chown of the hostPath data directory', () => {
  test('off by default: no init container and the namespace enforces restricted', () => {
    const { json } = synth(environment('dev'));
    expect(podOf(json).init_container).toBeUndefined();
    expect(labelsOf(json)['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  const { json } = synth(environment('dev', { storage: Storage.hostPath({ chownDataDirectory: true }) }));
  const init = podOf(json).init_container[0];

  test('an init container chowns the data mount as root with CHOWN only', () => {
    expect(init.command).toEqual(['sh', '-c', CHOWN_DATA_SCRIPT]);
    expect(CHOWN_DATA_SCRIPT).toContain('chown -R 1000:1000 "$d"');
    expect(init.volume_mount).toEqual([{ name: 'data', mount_path: '/var/lib/registry' }]);
    expect(init.security_context).toMatchObject({
      run_as_user: '0',
      privileged: false,
      allow_privilege_escalation: false,
      read_only_root_filesystem: true,
      capabilities: { drop: ['ALL'], add: ['CHOWN'] },
    });
    expect(init.image).toBe('${var.registry_image}');
  });

  test('the namespace then enforces baseline and still warns and audits against restricted', () => {
    expect(labelsOf(json)).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
  });

  test('fails when chownDataDirectory is given to storage other than host-path', () => {
    // GIVEN a JavaScript caller (TypeScript rejects it at compile time)
    const storage = Storage.storageClass({ chownDataDirectory: true } as any);
    // THEN the stack names the environment, the option and what the factory takes
    expect(() => synth(environment('dev', { storage }))).toThrow(
      'environment dev: storage.chownDataDirectory: true is not allowed; expected no such option for Storage.storageClass(); its options are accessMode.',
    );
  });

  test('fails when host-path storage is given an access mode (one node\'s disk is ReadWriteOnce)', () => {
    const storage = Storage.hostPath({ accessMode: 'ReadWriteMany' } as any);
    expect(() => synth(environment('dev', { storage }))).toThrow(
      'environment dev: storage.accessMode: "ReadWriteMany" is not allowed; expected no such option for Storage.hostPath(); its options are chownDataDirectory.',
    );
  });
});
