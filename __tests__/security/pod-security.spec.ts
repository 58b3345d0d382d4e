import { resourcesOf, synth, TEST_ENVIRONMENTS, type Synthesized } from '../../harness/synth';
import { restrictedViolations } from './pod-security';

let stacks: [string, Synthesized][];

beforeAll(() => {
  stacks = TEST_ENVIRONMENTS.map((env) => [env.name, synth(env).json]);
});

const podTemplate = (json: Synthesized) => {
  const [deployment] = resourcesOf(json, 'kubernetes_deployment_v1');
  return deployment.spec.template;
};

describe('pod security', () => {
  test('every environment runs the registry pod within the restricted profile', () => {
    for (const [name, json] of stacks) {
      expect({ name, violations: restrictedViolations(podTemplate(json)) }).toEqual({ name, violations: [] });
    }
  });

  test('every environment labels the namespace to enforce the restricted profile', () => {
    for (const [, json] of stacks) {
      const [namespace] = resourcesOf(json, 'kubernetes_namespace_v1');
      expect(namespace.metadata.labels).toMatchObject({
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
      });
    }
  });

  test('the pod mounts no hostPath even where the data lives on a hostPath volume', () => {
    const [, dev] = stacks.find(([name]) => name === 'dev')!;
    expect(resourcesOf(dev, 'kubernetes_persistent_volume_v1')[0].spec[0].persistent_volume_source.host_path).toBeDefined();
    expect(podTemplate(dev).spec.volume.map((v: any) => Object.keys(v).filter((k) => k !== 'name')[0]))
      .toEqual(['config_map', 'secret', 'secret', 'persistent_volume_claim', 'empty_dir', 'config_map', 'empty_dir']);
  });

  // The checker itself: each mutation of the real pod must be caught by the control it breaks.
  test.each<[string, (spec: any) => void, string]>([
    ['the pod runs as hostProcess', (s) => { s.security_context.windows_options = { host_process: true }; }, 'hostProcess: pod'],
    ['the pod shares the host network', (s) => { s.host_network = true; }, 'host namespaces: host_network'],
    ['the pod shares the host PID namespace', (s) => { s.host_pid = true; }, 'host namespaces: host_pid'],
    ['the container is privileged', (s) => { s.container[0].security_context.privileged = true; }, 'privileged: registry'],
    ['the pod mounts a hostPath', (s) => { s.volume.push({ name: 'host', host_path: { path: '/' } }); }, 'volume types: host is host_path'],
    ['the container binds a host port', (s) => { s.container[0].port[0].host_port = 5000; }, 'host ports: registry'],
    ['AppArmor is unconfined', (s) => { s.security_context.app_armor_profile = { type: 'Unconfined' }; }, 'AppArmor: pod is Unconfined'],
    ['the SELinux type is spc_t', (s) => { s.security_context.se_linux_options = { type: 'spc_t' }; }, 'SELinux: pod type spc_t'],
    ['/proc is unmasked', (s) => { s.container[0].security_context.proc_mount = 'Unmasked'; }, '/proc mount: registry'],
    ['seccomp is unconfined', (s) => { s.container[0].security_context.seccomp_profile = { type: 'Unconfined' }; }, 'seccomp: registry is Unconfined'],
    ['an unsafe sysctl is set', (s) => { s.security_context.sysctl = [{ name: 'kernel.msgmax', value: '1' }]; }, 'sysctls: kernel.msgmax'],
    ['privilege escalation is allowed', (s) => { delete s.container[0].security_context.allow_privilege_escalation; }, 'allowPrivilegeEscalation: registry is not false'],
    ['the pod may run as root', (s) => { delete s.security_context.run_as_non_root; s.container[0].security_context.run_as_non_root = false; }, 'runAsNonRoot: registry'],
    ['the container runs as uid 0', (s) => { s.container[0].security_context.run_as_user = '0'; }, 'runAsUser: registry is 0'],
    ['capabilities are not dropped', (s) => { s.container[0].security_context.capabilities = { add: ['NET_ADMIN'] }; }, 'capabilities: registry adds NET_ADMIN'],
  ])('fails when %s', (_, mutate, violation) => {
    const template = structuredClone(podTemplate(stacks[0][1]));
    mutate(template.spec);
    expect(restrictedViolations(template)).toContain(violation);
  });
});
