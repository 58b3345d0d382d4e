import { Construct } from 'constructs';
import { PersistentVolumeV1 } from '@cdktf/provider-kubernetes/lib/persistent-volume-v1';
import { PersistentVolumeClaimV1 } from '@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1';
import type { AccessMode, StorageKind } from './environments';

export interface RegistryStorageProps {
  readonly kind: StorageKind;
  readonly namespace: string;
  /** Claim name for `host-path` and `storage-class`; ignored for `existing-claim`. */
  readonly claimName: string;
  /** Cluster-scoped PersistentVolume name for `host-path`. */
  readonly volumeName: string;
  /** Kubernetes quantity such as 20Gi. */
  readonly size: string;
  /** `host-path`: directory on the node. */
  readonly hostPath?: string;
  /** `host-path`: value of the node's `kubernetes.io/hostname` label (usually the node name). */
  readonly nodeName?: string;
  /**
   * `storage-class`: class name.
   * @default - the cluster's default storage class
   */
  readonly storageClass?: string;
  /** `existing-claim`: the claim to mount. */
  readonly existingClaim?: string;
  /**
   * Access mode of the claim (`host-path` supports ReadWriteOnce only).
   * @default "ReadWriteOnce"
   */
  readonly accessMode?: AccessMode;
  /**
   * Refuse `destroy` of the volume and claim (Terraform `prevent_destroy`).
   * @default false
   */
  readonly preventDestroy?: boolean;
}

/**
 * What backs the registry's data. Whatever the kind, `cdktf destroy` never deletes images: the hostPath volume
 * is `Retain`, and `preventDestroy` stops Terraform from removing the volume and claim at all.
 */
export class RegistryStorage extends Construct {
  /** The claim the Deployment mounts. */
  public readonly claimName: string;
  public readonly volume?: PersistentVolumeV1;
  public readonly claim?: PersistentVolumeClaimV1;
  /** More than one pod can mount the claim only when this is ReadWriteMany. */
  public readonly accessMode: AccessMode;

  constructor(scope: Construct, id: string, props: RegistryStorageProps) {
    super(scope, id);
    const lifecycle = { preventDestroy: props.preventDestroy ?? false };
    const labels = { 'app.kubernetes.io/component': 'storage' };
    this.accessMode = props.accessMode ?? 'ReadWriteOnce';
    if (props.kind === 'host-path' && this.accessMode !== 'ReadWriteOnce') {
      throw new Error(`RegistryStorage: accessMode "${this.accessMode}" is not possible with kind "host-path" (one node's disk); use ReadWriteOnce`);
    }

    if (props.kind === 'existing-claim') {
      if (props.existingClaim === undefined) throw new Error('RegistryStorage: kind "existing-claim" needs existingClaim');
      this.claimName = props.existingClaim;
      return;
    }

    let storageClassName: string | undefined;
    if (props.kind === 'host-path') {
      if (props.hostPath === undefined || props.nodeName === undefined) {
        throw new Error('RegistryStorage: kind "host-path" needs hostPath and nodeName');
      }
      this.volume = new PersistentVolumeV1(this, 'volume', {
        metadata: { name: props.volumeName, labels },
        spec: [
          {
            capacity: { storage: props.size },
            accessModes: [this.accessMode],
            persistentVolumeReclaimPolicy: 'Retain',
            // Empty class: only a claim naming this volume can bind it, and no provisioner steps in.
            storageClassName: '',
            persistentVolumeSource: { hostPath: { path: props.hostPath, type: 'DirectoryOrCreate' } },
            // A hostPath is one node's disk: the pod must always land on that node.
            nodeAffinity: {
              required: {
                nodeSelectorTerm: [
                  { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [props.nodeName] }] },
                ],
              },
            },
          },
        ],
        lifecycle,
      });
      storageClassName = '';
    } else {
      storageClassName = props.storageClass;
    }

    this.claim = new PersistentVolumeClaimV1(this, 'claim', {
      metadata: { name: props.claimName, namespace: props.namespace, labels },
      spec: {
        accessModes: [this.accessMode],
        resources: { requests: { storage: props.size } },
        storageClassName,
        ...(this.volume ? { volumeName: this.volume.metadata.name } : {}),
      },
      // A hostPath claim binds at once; a provisioned one may wait for the first consumer.
      waitUntilBound: props.kind === 'host-path',
      lifecycle,
    });
    this.claimName = this.claim.metadata.name;
  }
}
