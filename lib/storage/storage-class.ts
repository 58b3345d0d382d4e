import type { Construct } from 'constructs';
import { nullIfEmpty } from '../hcl';
import { ClaimStorage } from './claim-storage';
import type { StorageBindOptions, StorageBinding } from './strategy';

/**
 * A claim provisioned by a storage class (variable `storage_class`; empty for the cluster's default class).
 * ReadWriteMany classes (NFS, CephFS, EFS) serve several replicas.
 */
export class StorageClassStorage extends ClaimStorage {
  readonly kind = 'storage-class';
  protected readonly factory = 'Storage.storageClass()';

  bind(scope: Construct, options: StorageBindOptions): StorageBinding {
    options.variables.declare('storage_class');
    const claim = this.newClaim(this.scopeFor(scope), {
      ...options, storageClassName: nullIfEmpty('storage_class'),
      // A provisioned claim may wait for its first consumer (WaitForFirstConsumer classes).
      waitUntilBound: false,
    });
    return this.claimBinding(claim.metadata.name);
  }
}
