/**
 * The operations an environment opts into (lib/environments.ts `garbageCollection`, `mirror`) and their checks.
 * Values an operator tunes per run (schedule, upstream, sizes, credentials) are catalog variables.
 */
import type { ExposureStrategy } from '../exposure/strategy';
import { ClaimStorage } from '../storage/claim-storage';
import { HostPathStorage } from '../storage/host-path';
import type { SettingCheck, StorageStrategy } from '../storage/strategy';
import * as rules from '../rules';

export interface GarbageCollectionSettings {
  /**
   * Also delete manifests no tag points at (`--delete-untagged`). On registry 3.1.0 the platform manifests of a
   * tagged multi-arch index are kept; distribution 2.8 deleted them (issues #3178, #4939): never with a 2.x image.
   * @default false
   */
  readonly deleteUntagged?: boolean;
}

/** The pull-through cache has no structural options: upstream, ttl, credentials and sizes are variables. */
export type MirrorSettings = Record<string, never>;

const never = (allowed: string): rules.Rule => ({ allowed, test: () => false, condition: () => 'false' });

function checkOptionNames(check: SettingCheck, setting: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      check(`${setting}.${key}`, (options as Record<string, unknown>)[key],
        [never(known.length > 0 ? `one of its options: ${known.join(', ')}` : 'no option: the mirror is configured by its variables (mirror_*)')]);
    }
  }
}

/**
 * The GC pod mounts the registry's claim beside the registry: a host-path claim follows its volume's node affinity
 * to the registry's node, and a ReadWriteMany claim mounts anywhere. A ReadWriteOnce claim from a storage class
 * could be scheduled on another node, where its attachment would keep the registry from restarting.
 */
export function validateGarbageCollection(
  check: SettingCheck, settings: GarbageCollectionSettings, storage: StorageStrategy, redis?: { readonly tls?: boolean },
): void {
  checkOptionNames(check, 'garbageCollection', settings, ['deleteUntagged']);
  if (settings.deleteUntagged !== undefined) check('garbageCollection.deleteUntagged', settings.deleteUntagged, [rules.boolean]);
  if (redis?.tls) {
    // The window flushes the cache with busybox nc from the registry image: plain TCP only.
    check('garbageCollection', 'redis.tls', [never(
      'a Redis cache without TLS: the window deletes the cache entries of the blobs GC deleted over plain TCP (nc); with TLS run GC by the procedure in docs/storage.md',
    )]);
  }
  if (!(storage instanceof ClaimStorage)) {
    // Object storage: the GC pod would need the store's credentials, CA and identity (the Redis flush after GC the
    // window already does, on claim storage with Redis). Until the job carries them, the procedure in docs/storage.md.
    check('garbageCollection', storage.kind, [never(
      'claim storage (Storage.hostPath() or a ReadWriteMany claim); on object storage run GC by the procedure in docs/storage.md (scale to 0, garbage-collect, flush Redis, scale back)',
    )]);
  } else if (!(storage instanceof HostPathStorage) && !storage.shared) {
    check('garbageCollection', storage.kind, [never(
      'storage the GC pod can mount beside the registry: Storage.hostPath() or a ReadWriteMany claim (a ReadWriteOnce claim may attach to one node only)',
    )]);
  }
}

/** The cache is reached on the registry's names at a second port: the exposure must route it. */
export function validateMirror(check: SettingCheck, settings: MirrorSettings, exposure: ExposureStrategy): void {
  checkOptionNames(check, 'mirror', settings, []);
  if (!exposure.routesAdditionalPorts) {
    check('mirror', exposure.kind, [never('an exposure that routes a second port on the registry names for the cache: Exposure.ingressNginx.*() or Exposure.gateway()')]);
  }
}
