import type { Construct } from 'constructs';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { MANAGED_BY } from './labels';
import type { PodSecurityLevel } from './storage';

/**
 * The registry's namespace, enforcing the Pod Security Standard its pods meet: "restricted", or "baseline" when
 * the storage needs a root init step (then warn and audit still report against "restricted").
 */
export function registryNamespace(scope: Construct, name: string, level: PodSecurityLevel): NamespaceV1 {
  return new NamespaceV1(scope, 'namespace', {
    metadata: {
      name,
      labels: {
        ...MANAGED_BY,
        ...(level === 'baseline'
          ? {
            'pod-security.kubernetes.io/enforce': 'baseline',
            'pod-security.kubernetes.io/warn': 'restricted',
            'pod-security.kubernetes.io/audit': 'restricted',
          }
          : { 'pod-security.kubernetes.io/enforce': 'restricted' }),
        'pod-security.kubernetes.io/enforce-version': 'latest',
      },
    },
  });
}
