/**
 * The distribution `config.yml`, rendered from typed options. Pure: no cdktf import, no secrets (the http
 * secret arrives as REGISTRY_HTTP_SECRET from a Kubernetes secret; TLS and htpasswd are files from mounted
 * secrets). Kept to the keys both distribution 2.8 (used by the local tests) and v3 (the deployed image) accept.
 */
import { stringify } from 'yaml';

/** Port the registry serves on inside the pod (the external port is the exposure's business). */
export const REGISTRY_PORT = 5000;
/** Debug server: health, Prometheus metrics, pprof. Pod network only; never on the Service. */
export const DEBUG_PORT = 5001;
/** The non-root user the registry runs as (the owner a hostPath directory needs). */
export const REGISTRY_UID = 1000;

/**
 * How long the registry lets requests in flight finish after SIGTERM (`http.draintimeout`): without it v3 exits at
 * once and every rollout cuts the uploads in progress. The pod's grace period is longer (POD_GRACE_SECONDS).
 */
export const DRAIN_SECONDS = 60;
/** terminationGracePeriodSeconds: the drain plus time to exit before the kubelet sends SIGKILL. */
export const POD_GRACE_SECONDS = DRAIN_SECONDS + 15;

/** Where the Deployment mounts things; the config and the pod spec both read these. */
export const MOUNTS = {
  configFile: '/etc/distribution/config.yml',
  configDir: '/etc/distribution',
  tlsDir: '/etc/distribution/tls',
  authDir: '/etc/distribution/auth',
  data: '/var/lib/registry',
} as const;

export interface RegistryConfigOptions {
  /** Port the registry serves the API on inside the pod. */
  readonly port: number;
  /**
   * Address the API listens on: `127.0.0.1` behind the authorizing front (lib/registry/front.ts), so nothing but
   * the front reaches it.
   * @default - every address
   */
  readonly host?: string;
  /** Port of the debug server (health, metrics, pprof): reachable inside the pod network only. */
  readonly debugPort: number;
  /**
   * The `storage.<driver>` section: which driver and its parameters (no secrets: credentials come as env).
   * @default - the filesystem driver on /var/lib/registry
   */
  readonly storageDriver?: Record<string, unknown>;
  /**
   * The `redis` section: with it the blob-descriptor cache is Redis, shared by every replica (addresses and
   * credentials come as env).
   * @default - the in-memory cache of each pod
   */
  readonly redis?: Record<string, unknown>;
  /**
   * Serve TLS with the mounted kubernetes.io/tls secret.
   * @default true
   */
  readonly tls?: boolean;
  /**
   * Require htpasswd basic auth.
   * @default true
   */
  readonly auth?: boolean;
  /**
   * Realm shown in the Basic challenge.
   * @default "Registry"
   */
  readonly realm?: string;
  /**
   * Allow DELETE of manifests and blobs (needed for garbage collection to reclaim space).
   * @default true
   */
  readonly deleteEnabled?: boolean;
  /**
   * Refuse pushes (for a garbage-collection window).
   * @default false
   */
  readonly readOnly?: boolean;
  /**
   * Log level: error, warn, info or debug.
   * @default "info"
   */
  readonly logLevel?: 'error' | 'warn' | 'info' | 'debug';
}

/** Renders config.yml. The same text always comes out for the same options (the pod rolls on change). */
export function renderRegistryConfig(options: RegistryConfigOptions): string {
  const tls = options.tls ?? true;
  const auth = options.auth ?? true;
  const config = {
    version: 0.1,
    log: { level: options.logLevel ?? 'info', formatter: 'json', fields: { service: 'registry' } },
    storage: {
      ...(options.storageDriver ?? { filesystem: { rootdirectory: MOUNTS.data } }),
      delete: { enabled: options.deleteEnabled ?? true },
      cache: { blobdescriptor: options.redis ? 'redis' : 'inmemory' },
      maintenance: {
        // Abandoned uploads are purged after a week; a GC window sets readonly instead of stopping the pod.
        uploadpurging: { enabled: true, age: '168h', interval: '24h', dryrun: false },
        readonly: { enabled: options.readOnly ?? false },
      },
    },
    http: {
      addr: `${options.host ?? ''}:${options.port}`,
      ...(tls
        ? {
            tls: {
              certificate: `${MOUNTS.tlsDir}/tls.crt`,
              key: `${MOUNTS.tlsDir}/tls.key`,
              minimumtls: 'tls1.2',
            },
          }
        : {}),
      headers: { 'X-Content-Type-Options': ['nosniff'] },
      draintimeout: `${DRAIN_SECONDS}s`,
      debug: { addr: `:${options.debugPort}`, prometheus: { enabled: true, path: '/metrics' } },
    },
    ...(auth ? { auth: { htpasswd: { realm: options.realm ?? 'Registry', path: `${MOUNTS.authDir}/htpasswd` } } } : {}),
    ...(options.redis ? { redis: options.redis } : {}),
    // GET / answers 503 while the storage driver check fails: the probes rely on it.
    health: { storagedriver: { enabled: true, interval: '10s', threshold: 3 } },
  };
  return stringify(config, { lineWidth: 0 });
}
