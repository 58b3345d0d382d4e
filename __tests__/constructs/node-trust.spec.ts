/** RegistryNodeTrust alone: its defaults, its optional props and the errors for bad ones. */
import { NODE_TRUST_NAME, RegistryNodeTrust } from '../../lib/node-trust/daemon-set';
import { only, synthConstruct } from '../../harness/synth';

const props = { namespace: 'trust', caPem: 'CA', registryHosts: ['r.example.com:5000'], image: 'busybox:1.37.0' };

describe('RegistryNodeTrust alone', () => {
  test('defaults: named registry-node-trust, the standard certs.d directories, a pass every 60 s', () => {
    const { json, result } = synthConstruct((scope) => new RegistryNodeTrust(scope, 'nt', props));
    const daemonSet = only(json, 'kubernetes_daemon_set_v1');
    expect(daemonSet.metadata.name).toBe(NODE_TRUST_NAME);
    expect(daemonSet.spec.template.spec.volume.filter((v: any) => v.host_path).map((v: any) => v.host_path.path))
      .toEqual(['/etc/containerd/certs.d', '/etc/containers/certs.d']);
    expect(result.script).toContain('INTERVAL=60');
    expect(daemonSet.spec.template.spec.security_context.se_linux_options).toBeUndefined();
  });

  test('optional props: name, interval, SELinux type and the k3s certs.d directory', () => {
    const { json, result } = synthConstruct((scope) => new RegistryNodeTrust(scope, 'nt', {
      ...props, name: 'trust-ca', intervalSeconds: 300, seLinuxType: 'spc_t', containerdCertsDir: '/var/lib/rancher/k3s/agent/etc/containerd/certs.d',
    }));
    const daemonSet = only(json, 'kubernetes_daemon_set_v1');
    expect(daemonSet.metadata.name).toBe('trust-ca');
    expect(result.script).toContain('INTERVAL=300');
    expect(daemonSet.spec.template.spec.security_context.se_linux_options).toEqual({ type: 'spc_t' });
    expect(daemonSet.spec.template.spec.volume.find((v: any) => v.name === 'containerd-certs').host_path.path)
      .toBe('/var/lib/rancher/k3s/agent/etc/containerd/certs.d');
  });

  test.each([
    ['the name is not a DNS label', { name: 'Trust_CA' }, /^name: "Trust_CA" is not allowed; expected a DNS-1123 label/],
    ['the containerd directory is relative', { containerdCertsDir: 'etc/containerd' }, /^containerdCertsDir: "etc\/containerd" is not allowed; expected an absolute path/],
    ['the SELinux type has a capital letter', { seLinuxType: 'Spc_t' }, /^seLinuxType: "Spc_t" is not allowed; expected an SELinux name/],
    ['the interval is zero', { intervalSeconds: 0 }, /^intervalSeconds: 0 is not allowed; expected a whole number of seconds from 1 to 86400/],
  ])('fails when %s', (_, extra, message) => {
    expect(() => synthConstruct((scope) => new RegistryNodeTrust(scope, 'nt', { ...props, ...extra }))).toThrow(message);
  });
});
