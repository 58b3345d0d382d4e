import type { Construct } from 'constructs';
import { PersistentVolumeV1 } from '@cdktf/provider-kubernetes/lib/persistent-volume-v1';
import type { DeploymentV1SpecTemplateSpecInitContainer } from '@cdktf/provider-kubernetes/lib/deployment-v1';
import { MOUNTS, REGISTRY_UID } from '../registry/config';
import { componentLabels } from '../labels';
import * as rules from '../rules';
import { ClaimStorage } from './claim-storage';
import type { PodSecurityLevel, SettingCheck, StorageBindOptions, StorageBinding } from './strategy';
import { literalText } from '../hcl';

export interface HostPathStorageOptions {
  /**
   * An init container chowns the data directory to uid 1000 when its top directory is owned by someone else
   * (fsGroup does not apply to hostPath). It needs root with CHOWN, so the registry namespace then enforces the
   * "baseline" Pod Security Standard (warn/audit "restricted") instead of "restricted".
   * @default false
   */
  readonly chownDataDirectory?: boolean;
}

/**
 * A directory on one node's disk (variables `host_path`, `node_name`): a hostPath PersistentVolume pinned to that
 * node by node affinity, `Retain`, and a claim bound to it by name with an empty storage class so no provisioner
 * can take it. One node's disk is ReadWriteOnce: one registry pod, `Recreate`.
 */
export class HostPathStorage extends ClaimStorage {
  readonly kind = 'host-path';
  protected readonly factory = 'Storage.hostPath()';
  readonly chownDataDirectory: boolean;

  constructor(options: HostPathStorageOptions = {}) {
    super(options);
    this.chownDataDirectory = options.chownDataDirectory ?? false;
  }

  override get podSecurityLevel(): PodSecurityLevel {
    return this.chownDataDirectory ? 'baseline' : 'restricted';
  }

  override validate(check: SettingCheck): void {
    // One node's disk: ReadWriteOnce is not an option here, it is what the storage is.
    this.validateOptionNames(check, this.factory, this.options, ['chownDataDirectory']);
    check('storage.chownDataDirectory', this.chownDataDirectory, [rules.boolean]);
  }

  bind(scope: Construct, options: StorageBindOptions): StorageBinding & { volume: PersistentVolumeV1 } {
    const storage = this.scopeFor(scope);
    const volume = new PersistentVolumeV1(storage, 'volume', {
      metadata: { name: `${options.namespace}-${options.appName}-data`, labels: componentLabels('storage') },
      spec: [
        {
          capacity: { storage: this.sizeOf(options) },
          accessModes: [this.accessMode],
          persistentVolumeReclaimPolicy: 'Retain',
          // Empty class: only a claim naming this volume can bind it, and no provisioner steps in.
          storageClassName: '',
          persistentVolumeSource: { hostPath: { path: options.variables.string('host_path'), type: 'DirectoryOrCreate' } },
          // A hostPath is one node's disk: the pod must always land on that node.
          nodeAffinity: {
            required: {
              nodeSelectorTerm: [
                { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [options.variables.string('node_name')] }] },
              ],
            },
          },
        },
      ],
      lifecycle: { preventDestroy: options.preventDestroy },
    });
    const claim = this.newClaim(storage, {
      ...options, storageClassName: '', volumeName: volume.metadata.name,
      // A hostPath claim binds at once.
      waitUntilBound: true,
    });
    return {
      ...this.claimBinding(claim.metadata.name, {
        initContainers: this.chownDataDirectory ? [chownInitContainer(options.image)] : [],
      }),
      volume,
    };
  }
}

/** The shell step of the chown init container: only when the top directory is not already 1000:1000. */
export const CHOWN_DATA_SCRIPT = [
  'set -eu',
  `d=${MOUNTS.data}`,
  `if [ "$(stat -c %u:%g "$d")" != ${REGISTRY_UID}:${REGISTRY_UID} ]; then`,
  `  echo "chown -R ${REGISTRY_UID}:${REGISTRY_UID} $d (was $(stat -c %u:%g "$d"))"`,
  `  chown -R ${REGISTRY_UID}:${REGISTRY_UID} "$d"`,
  'fi',
].join('\n');

/**
 * Root with CHOWN and nothing else: chown of root-owned files needs CAP_CHOWN; the registry's own directories
 * are 0755, so walking them needs no DAC capability. Same image as the registry (its busybox has chown and stat).
 */
function chownInitContainer(image: string): DeploymentV1SpecTemplateSpecInitContainer {
  return {
    name: 'chown-data',
    image,
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', literalText(CHOWN_DATA_SCRIPT)],
    securityContext: {
      runAsUser: '0',
      runAsGroup: '0',
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['CHOWN'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
    volumeMount: [{ name: 'data', mountPath: MOUNTS.data }],
  };
}
