/**
 * The Kubernetes Pod Security Standards, "restricted" profile (which includes "baseline"), checked against a pod
 * template as the kubernetes provider's Terraform JSON spells it (snake_case blocks, single blocks as objects).
 * https://kubernetes.io/docs/concepts/security/pod-security-standards/
 * Returns one line per violation, empty when the pod is admitted by `pod-security.kubernetes.io/enforce: restricted`.
 */

const ALLOWED_VOLUME_TYPES = ['config_map', 'csi', 'downward_api', 'empty_dir', 'ephemeral', 'persistent_volume_claim', 'projected', 'secret'];
const ALLOWED_SELINUX_TYPES = ['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'];
const SAFE_SYSCTLS = [
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes',
];
const PROFILE_TYPES = ['RuntimeDefault', 'Localhost'];

/** Single blocks are objects, repeated ones arrays: always a list. */
const list = (x: unknown): any[] => (x === undefined || x === null ? [] : Array.isArray(x) ? x : [x]);
const isTrue = (x: unknown) => x === true || x === 'true';

export function restrictedViolations(template: { metadata?: any; spec: any }): string[] {
  const v: string[] = [];
  const pod = template.spec;
  const podContext = list(pod.security_context)[0] ?? {};
  const containers = [...list(pod.init_container), ...list(pod.container)];
  const contexts = containers.map((c) => [c.name as string, list(c.security_context)[0] ?? {}] as const);

  // baseline
  if (isTrue(list(podContext.windows_options)[0]?.host_process)) v.push('hostProcess: pod');
  for (const [name, sc] of contexts) if (isTrue(list(sc.windows_options)[0]?.host_process)) v.push(`hostProcess: ${name}`);
  for (const field of ['host_network', 'host_pid', 'host_ipc']) if (isTrue(pod[field])) v.push(`host namespaces: ${field}`);
  for (const [name, sc] of contexts) if (isTrue(sc.privileged)) v.push(`privileged: ${name}`);
  for (const volume of list(pod.volume)) {
    const types = Object.keys(volume).filter((k) => k !== 'name');
    for (const t of types) if (!ALLOWED_VOLUME_TYPES.includes(t)) v.push(`volume types: ${volume.name} is ${t}`);
  }
  for (const c of containers) {
    for (const port of list(c.port)) if (port.host_port !== undefined && Number(port.host_port) !== 0) v.push(`host ports: ${c.name}`);
  }
  const appArmor = (where: string, profile: any) => {
    if (profile && !PROFILE_TYPES.includes(profile.type)) v.push(`AppArmor: ${where} is ${profile.type}`);
  };
  appArmor('pod', list(podContext.app_armor_profile)[0]);
  for (const [name, sc] of contexts) appArmor(name, list(sc.app_armor_profile)[0]);
  for (const [key, value] of Object.entries<string>(template.metadata?.annotations ?? {})) {
    if (key.startsWith('container.apparmor.security.beta.kubernetes.io/') && value !== 'runtime/default' && !value.startsWith('localhost/')) {
      v.push(`AppArmor: annotation ${key}`);
    }
  }
  const seLinux = (where: string, options: any) => {
    if (!options) return;
    if (!ALLOWED_SELINUX_TYPES.includes(options.type ?? '')) v.push(`SELinux: ${where} type ${options.type}`);
    if (options.user) v.push(`SELinux: ${where} sets user`);
    if (options.role) v.push(`SELinux: ${where} sets role`);
  };
  seLinux('pod', list(podContext.se_linux_options)[0]);
  for (const [name, sc] of contexts) seLinux(name, list(sc.se_linux_options)[0]);
  for (const [name, sc] of contexts) if (sc.proc_mount !== undefined && sc.proc_mount !== 'Default') v.push(`/proc mount: ${name}`);
  for (const sysctl of list(podContext.sysctl)) if (!SAFE_SYSCTLS.includes(sysctl.name)) v.push(`sysctls: ${sysctl.name}`);

  // restricted
  for (const [name, sc] of contexts) if (sc.allow_privilege_escalation !== false) v.push(`allowPrivilegeEscalation: ${name} is not false`);
  for (const [name, sc] of contexts) {
    if (sc.run_as_non_root === false || (sc.run_as_non_root !== true && podContext.run_as_non_root !== true)) v.push(`runAsNonRoot: ${name}`);
  }
  if (podContext.run_as_user !== undefined && Number(podContext.run_as_user) === 0) v.push('runAsUser: pod is 0');
  for (const [name, sc] of contexts) if (sc.run_as_user !== undefined && Number(sc.run_as_user) === 0) v.push(`runAsUser: ${name} is 0`);
  const podSeccomp = list(podContext.seccomp_profile)[0]?.type;
  if (podSeccomp !== undefined && !PROFILE_TYPES.includes(podSeccomp)) v.push(`seccomp: pod is ${podSeccomp}`);
  for (const [name, sc] of contexts) {
    const type = list(sc.seccomp_profile)[0]?.type;
    if (type !== undefined ? !PROFILE_TYPES.includes(type) : podSeccomp === undefined) v.push(`seccomp: ${name} is ${type ?? 'unset'}`);
  }
  for (const [name, sc] of contexts) {
    const caps = list(sc.capabilities)[0] ?? {};
    if (!list(caps.drop).includes('ALL')) v.push(`capabilities: ${name} does not drop ALL`);
    for (const cap of list(caps.add)) if (cap !== 'NET_BIND_SERVICE') v.push(`capabilities: ${name} adds ${cap}`);
  }
  return v;
}
