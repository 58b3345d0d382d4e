import { REGISTRY_UID } from './config';
import type { SeLinuxOptions } from './selinux';

/**
 * The pod-level security context of every pod that runs the registry image as the registry's user (the registry
 * and the jobs that share its storage): non-root uid/gid 1000, fsGroup for claims, RuntimeDefault seccomp, and the
 * environment's SELinux label so files on a hostPath stay readable by each of them.
 */
export function registryPodSecurityContext(seLinuxOptions?: SeLinuxOptions) {
  const uid = String(REGISTRY_UID);
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
    ...(seLinuxOptions ? { seLinuxOptions } : {}),
  };
}

/** The container-level security context of those containers: no privilege, no capability, read-only root. */
export function registryContainerSecurityContext() {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: String(REGISTRY_UID),
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
