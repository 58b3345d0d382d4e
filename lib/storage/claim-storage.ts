import { Construct } from 'constructs';
import { PersistentVolumeClaimV1 } from '@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1';
import { MOUNTS } from '../registry/config';
import { componentLabels } from '../labels';
import * as rules from '../rules';
import { type RolloutStrategy, type SettingCheck, type StorageBinding, StorageStrategy } from './strategy';

export type AccessMode = 'ReadWriteOnce' | 'ReadWriteMany';
export const ACCESS_MODES: readonly AccessMode[] = ['ReadWriteOnce', 'ReadWriteMany'];

/** The most registry pods one shared (ReadWriteMany) volume serves in this stack. */
export const MAX_SHARED_REPLICAS = 10;

export interface ClaimStorageOptions {
  /**
   * Access mode of the claim. More than one replica needs ReadWriteMany (a volume several nodes mount).
   * @default "ReadWriteOnce"
   */
  readonly accessMode?: AccessMode;
}

/**
 * Storage that is a PersistentVolumeClaim mounted at /var/lib/registry (distribution's filesystem driver): the
 * common part of host-path, storage-class and existing-claim storage. Replicas and the rollout follow the access
 * mode: one pod and `Recreate` on ReadWriteOnce, up to ten pods rolling on ReadWriteMany.
 */
export abstract class ClaimStorage extends StorageStrategy {
  readonly accessMode: AccessMode;
  /** The factory's name and options, for messages. */
  protected abstract readonly factory: string;

  constructor(protected readonly options: object = {}) {
    super();
    this.accessMode = (options as ClaimStorageOptions).accessMode ?? 'ReadWriteOnce';
  }

  get shared(): boolean {
    return this.accessMode === 'ReadWriteMany';
  }

  get maxReplicas(): number {
    return this.shared ? MAX_SHARED_REPLICAS : 1;
  }

  get rolloutStrategy(): RolloutStrategy {
    // One pod at a time on a ReadWriteOnce volume: a rolling update would leave the new pod Pending.
    return { type: this.shared ? 'RollingUpdate' : 'Recreate' };
  }

  get replicasDescription(): string {
    return this.shared
      ? 'Registry pods (shared ReadWriteMany storage: more than one is possible).'
      : 'Registry pods. Must be 1: this environment\'s storage is ReadWriteOnce.';
  }

  get replicaRules(): readonly rules.Rule[] {
    return this.shared ? [rules.wholeNumber(1, MAX_SHARED_REPLICAS)] : [rules.singleReplica];
  }

  validate(check: SettingCheck): void {
    this.validateOptionNames(check, this.factory, this.options, ['accessMode']);
    check('storage.accessMode', this.accessMode, [rules.oneOf(ACCESS_MODES)]);
  }

  /** The `storage` construct every claim kind creates its resources in. */
  protected scopeFor(scope: Construct): Construct {
    return new Construct(scope, 'storage');
  }

  /** What the pod needs once the claim is known: the filesystem driver on the claim mounted as `data`. */
  protected claimBinding(claimName: string, extra: Partial<StorageBinding> = {}): StorageBinding {
    return {
      driver: { filesystem: { rootdirectory: MOUNTS.data } },
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
      volumeMounts: [{ name: 'data', mountPath: MOUNTS.data }],
      initContainers: [],
      ...extra,
    };
  }

  /** The size the stack gives every storage that `sizesVolume`. */
  protected sizeOf(options: { readonly size?: string }): string {
    if (options.size === undefined) throw new Error(`internal: ${this.factory} was bound without a size`);
    return options.size;
  }

  /** A claim this stack owns, named `<app>-data`. */
  protected newClaim(scope: Construct, props: {
    namespace: string; appName: string; size?: string; preventDestroy: boolean;
    storageClassName?: string; volumeName?: string; waitUntilBound: boolean;
  }): PersistentVolumeClaimV1 {
    return new PersistentVolumeClaimV1(scope, 'claim', {
      metadata: { name: `${props.appName}-data`, namespace: props.namespace, labels: componentLabels('storage') },
      spec: {
        accessModes: [this.accessMode],
        resources: { requests: { storage: this.sizeOf(props) } },
        storageClassName: props.storageClassName,
        ...(props.volumeName ? { volumeName: props.volumeName } : {}),
      },
      waitUntilBound: props.waitUntilBound,
      lifecycle: { preventDestroy: props.preventDestroy },
    });
  }
}
