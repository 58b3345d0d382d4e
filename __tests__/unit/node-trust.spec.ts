import { environment, synth, byPath, address } from '../../harness/synth';
import { NODE_TRUST_MOUNTS, REGISTRY_HOSTS_ENV } from '../../lib/node-trust/daemon-set';
import { templateLiteral } from '../../harness/json';

describe('RegistryNodeTrust', () => {
  const { json } = synth(environment('dev'));
  const daemonSet = byPath(json, 'kubernetes_daemon_set_v1', 'node-trust/daemon-set');
  const pod = daemonSet.spec.template.spec;
  const container = pod.container[0];
  const volume = (name: string) => pod.volume.find((v: any) => v.name === name);

  test('is off unless the environment opts in', () => {
    const { json: off } = synth(environment('dev', { nodeTrust: false }));
    expect(off.resource.kubernetes_daemon_set_v1).toBeUndefined();
    expect(off.variable.node_trust_image).toBeUndefined();
  });

  test('lives in its own namespace labelled privileged (hostPath is refused by baseline and restricted)', () => {
    const ns = byPath(json, 'kubernetes_namespace_v1', 'node-trust/namespace');
    expect(ns.metadata.name).toBe('${var.node_trust_namespace}');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(daemonSet.metadata.namespace).toBe(`\${${address(json, 'kubernetes_namespace_v1', 'node-trust/namespace')}.metadata[0].name}`);
    expect(json.variable.node_trust_namespace.validation.map((v: any) => v.condition)).toContain('${var.node_trust_namespace != var.namespace}');
  });

  test('mounts only the public CA, from a ConfigMap, as a directory (no subPath: rotations propagate)', () => {
    const ca = byPath(json, 'kubernetes_config_map_v1', 'node-trust/ca');
    expect(ca.data).toEqual({ 'ca.crt': `\${${address(json, 'tls_self_signed_cert', 'tls/ca')}.cert_pem}` });
    expect(volume('registry-ca').config_map).toMatchObject({ name: `\${${address(json, 'kubernetes_config_map_v1', 'node-trust/ca')}.metadata[0].name}`, optional: false });
    expect(pod.volume.some((v: any) => v.secret)).toBe(false);
    expect(container.volume_mount.find((m: any) => m.name === 'registry-ca')).toEqual({ name: 'registry-ca', mount_path: NODE_TRUST_MOUNTS.caDir, read_only: true });
    expect(container.volume_mount.every((m: any) => m.sub_path === undefined)).toBe(true);
  });

  test('hostPath mounts of exactly the two certs.d directories, DirectoryOrCreate', () => {
    const hostPaths = pod.volume.filter((v: any) => v.host_path).map((v: any) => v.host_path);
    expect(hostPaths).toEqual([
      { path: '/etc/containerd/certs.d', type: 'DirectoryOrCreate' },
      { path: '/etc/containers/certs.d', type: 'DirectoryOrCreate' },
    ]);
  });

  test('least privilege: not privileged, no escalation, read-only root, every capability dropped, no token', () => {
    expect(container.security_context).toEqual({
      privileged: false,
      allow_privilege_escalation: false,
      read_only_root_filesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.security_context).toMatchObject({ run_as_user: '0', seccomp_profile: { type: 'RuntimeDefault' } });
    expect(pod.automount_service_account_token).toBe(false);
    expect(pod.host_network).toBeUndefined();
    expect(pod.host_pid).toBeUndefined();
  });

  test('tolerates every taint, so every node gets the CA', () => {
    expect(pod.toleration).toEqual([{ operator: 'Exists' }]);
  });

  test('runs the node trust script, with every registry domain and IP at the external port from REGISTRY_HOSTS', () => {
    expect(container.command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(templateLiteral(container.command[2])).toContain('REGISTRY_HOSTS=${REGISTRY_HOSTS:-}');
    expect(container.command[2]).toContain(`CA_PATH='${NODE_TRUST_MOUNTS.caDir}/ca.crt'`);
    const hosts = container.env.find((e: any) => e.name === REGISTRY_HOSTS_ENV).value;
    expect(hosts).toMatch(/^\$\{join\(" ", /);
    expect(hosts).toContain('var.registry_domains');
    expect(hosts).toContain('var.registry_ip_addresses');
    expect(hosts).toContain('${val}:${var.external_port}');
  });

  test('the image is a pinned variable, busybox by default', () => {
    expect(container.image).toBe('${var.node_trust_image}');
    expect(json.variable.node_trust_image.default).toMatch(/^docker\.io\/library\/busybox:1\.\d+\.\d+$/);
    expect(JSON.stringify(json.variable.node_trust_image.validation)).toContain(':latest');
  });

  test('an SELinux type (e.g. spc_t) can be set for SELinux nodes, and is off by default', () => {
    expect(pod.security_context.se_linux_options).toBeUndefined();
    const { json: selinux } = synth(environment('dev', { nodeTrustSeLinuxType: 'spc_t' }));
    const other = byPath(selinux, 'kubernetes_daemon_set_v1', 'node-trust/daemon-set');
    expect(other.spec.template.spec.security_context.se_linux_options).toEqual({ type: 'spc_t' });
  });

  test('fails when nodeTrustSeLinuxType is not an SELinux name', () => {
    expect(() => synth(environment('dev', { nodeTrustSeLinuxType: 'spc_t; rm' }))).toThrow(
      'seLinuxType: "spc_t; rm" is not allowed; expected an SELinux name such as container_t',
    );
  });

  test('fails when nodeTrustSeLinuxType is set without nodeTrust', () => {
    expect(() => synth(environment('dev', { nodeTrust: false, nodeTrustSeLinuxType: 'spc_t' }))).toThrow(
      'nodeTrustSeLinuxType: is not allowed without nodeTrust',
    );
  });

  test('fails when the default image is not pinned', () => {
    expect(() => synth(environment('dev', { variables: { node_trust_image: 'busybox:latest' } }))).toThrow(
      'node_trust_image: "busybox:latest" is not allowed',
    );
  });
});
