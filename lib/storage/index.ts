/**
 * What backs the registry's data, chosen per environment: `storage: Storage.hostPath()` and so on. Each kind is
 * one file with a `StorageStrategy` subclass; this module is the list of factories.
 */
import type { ClaimStorageOptions } from './claim-storage';
import { ExistingClaimStorage } from './existing-claim';
import { HostPathStorage, type HostPathStorageOptions } from './host-path';
import { S3Storage, type S3StorageOptions } from './s3';
import { StorageClassStorage } from './storage-class';
import { StorageStrategy } from './strategy';

export const Storage = {
  /** A directory on one node's disk (`host_path`, `node_name`): one replica, `Recreate`, `Retain`. */
  hostPath: (options?: HostPathStorageOptions) => new HostPathStorage(options),
  /** A claim from a storage class (`storage_class`); ReadWriteMany serves several replicas. */
  storageClass: (options?: ClaimStorageOptions) => new StorageClassStorage(options),
  /** A claim created beforehand (`existing_claim`). */
  existingClaim: (options?: ClaimStorageOptions) => new ExistingClaimStorage(options),
  /** A bucket on AWS S3 or an S3-compatible store (`s3_bucket`, ...): several replicas, rolling, spread over nodes. */
  s3: (options?: S3StorageOptions) => new S3Storage(options),
};

export type Storage = StorageStrategy;
export { StorageStrategy };
export type { AccessMode } from './claim-storage';
export type { StorageBinding, StorageBindOptions, RolloutStrategy, PodSecurityLevel, PodAdditions } from './strategy';
export type { S3Credentials, S3StorageOptions } from './s3';
