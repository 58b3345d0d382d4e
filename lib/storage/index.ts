/**
 * What backs the registry's data, chosen per environment: `storage: Storage.hostPath()` and so on. Each kind is
 * one file with a `StorageStrategy` subclass; this module is the list of factories.
 */
import type { ClaimStorageOptions } from './claim-storage';
import { ExistingClaimStorage } from './existing-claim';
import { HostPathStorage, type HostPathStorageOptions } from './host-path';
import { StorageClassStorage } from './storage-class';
import { StorageStrategy } from './strategy';

export const Storage = {
  /** A directory on one node's disk (`host_path`, `node_name`): one replica, `Recreate`, `Retain`. */
  hostPath: (options?: HostPathStorageOptions) => new HostPathStorage(options),
  /** A claim from a storage class (`storage_class`); ReadWriteMany serves several replicas. */
  storageClass: (options?: ClaimStorageOptions) => new StorageClassStorage(options),
  /** A claim created beforehand (`existing_claim`). */
  existingClaim: (options?: ClaimStorageOptions) => new ExistingClaimStorage(options),
};

export type Storage = StorageStrategy;
export { StorageStrategy };
export type { AccessMode } from './claim-storage';
export type { StorageBinding, StorageBindOptions, RolloutStrategy, PodSecurityLevel } from './strategy';
