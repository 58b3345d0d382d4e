import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { PersistentVolumeClaimV1 } from '@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import type { RegistryAuth } from '../auth';
import type { RegistryTls } from '../tls';
import { componentLabels } from '../labels';
import { MOUNTS } from '../registry/config';
import { RegistryServer } from '../registry/server';
import type { SeLinuxOptions } from '../registry/selinux';

/**
 * The `proxy` section, as environment variables: its values are Terraform variables, and a changed env var rolls
 * the pod where a changed config.yml (hashed at synth time, before variables have values) would not.
 */
export const PROXY_ENV = {
  remoteUrl: 'REGISTRY_PROXY_REMOTEURL',
  ttl: 'REGISTRY_PROXY_TTL',
  username: 'REGISTRY_PROXY_USERNAME',
  password: 'REGISTRY_PROXY_PASSWORD',
} as const;

export interface RegistryMirrorProps {
  readonly namespace: string;
  /** Name of the mirror's Deployment, Service and ConfigMap; prefix of its secret and claim. */
  readonly name: string;
  /** The registry image (same binary, proxy mode). */
  readonly image: string;
  /** The upstream registry URL, e.g. https://registry-1.docker.io. */
  readonly remoteUrl: string;
  /** How long cached content is kept after its last pull (distribution duration; `0` keeps it forever). */
  readonly ttl: string;
  /** Upstream user; empty for anonymous pulls (may be a sensitive Terraform variable). */
  readonly upstreamUsername: string;
  /** Upstream password or access token; empty for anonymous pulls (sensitive). */
  readonly upstreamPassword: string;
  /** Size of the cache claim. */
  readonly storageSize: string;
  /** Storage class of the cache claim (a Terraform expression; null for the cluster's default class). */
  readonly storageClassName?: string;
  /** The registry's TLS secret: the mirror serves the same certificate (it answers on the same names). */
  readonly tls: RegistryTls;
  /** The registry's auth: the mirror shares its http secret (it serves pulls anonymously, see the class doc). */
  readonly auth: RegistryAuth;
  readonly resources: { readonly cpuRequest: string; readonly memoryRequest: string; readonly memoryLimit: string };
  /** @default - the runtime's default label */
  readonly seLinuxOptions?: SeLinuxOptions;
}

/**
 * A pull-through cache: a second registry Deployment (the same image, TLS secret, probes and security context as
 * the registry, via RegistryServer) in proxy mode, on its own ReadWriteOnce claim: `proxy.remoteurl` and `ttl` as
 * environment variables, the upstream credentials from a secret as REGISTRY_PROXY_USERNAME / _PASSWORD. Pushes and deletes are refused by distribution in proxy
 * mode.
 *
 * It serves pulls without credentials: node runtimes pull through it for every pod, and neither containerd (which
 * sends a pod's pull-secret credentials only to the image's own host, not to a mirror) nor CRI-O (registries.conf
 * has no credential for a mirror) can authenticate to a mirror per pod, so an htpasswd-protected cache would be
 * skipped silently. What it can serve is what the upstream credentials can read: give it a read-only token for
 * public content (docs/operations.md). Its network policy admits the exposure's namespace and the listed clients.
 */
export class RegistryMirror extends Construct {
  public readonly upstreamSecret: SecretV1;
  public readonly claim: PersistentVolumeClaimV1;
  public readonly server: RegistryServer;

  constructor(scope: Construct, id: string, props: RegistryMirrorProps) {
    super(scope, id);
    const labels = componentLabels('mirror');
    this.upstreamSecret = new SecretV1(this, 'upstream', {
      metadata: { name: Fn.format('%s-upstream', [props.name]), namespace: props.namespace, labels },
      data: { username: props.upstreamUsername, password: props.upstreamPassword },
    });
    this.claim = new PersistentVolumeClaimV1(this, 'cache', {
      metadata: { name: Fn.format('%s-cache', [props.name]), namespace: props.namespace, labels },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: props.storageSize } },
        storageClassName: props.storageClassName,
      },
      // A provisioned claim may wait for its first consumer. No prevent_destroy: it is a cache.
      waitUntilBound: false,
    });
    const secretEnv = (name: string, key: string) => ({
      name,
      valueFrom: { secretKeyRef: { name: this.upstreamSecret.metadata.name, key, optional: false } },
    });
    this.server = new RegistryServer(this, 'server', {
      namespace: props.namespace,
      name: props.name,
      image: props.image,
      // One pod on one ReadWriteOnce claim.
      replicas: 1,
      rolloutStrategy: { type: 'Recreate' },
      serviceType: 'ClusterIP',
      tls: props.tls,
      auth: props.auth,
      storage: {
        driver: { filesystem: { rootdirectory: MOUNTS.data } },
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: this.claim.metadata.name } }],
        volumeMounts: [{ name: 'data', mountPath: MOUNTS.data }],
        initContainers: [],
      },
      resources: props.resources,
      seLinuxOptions: props.seLinuxOptions,
      config: { auth: false },
      extraEnv: [
        { name: PROXY_ENV.remoteUrl, value: props.remoteUrl },
        { name: PROXY_ENV.ttl, value: props.ttl },
        secretEnv(PROXY_ENV.username, 'username'),
        secretEnv(PROXY_ENV.password, 'password'),
      ],
    });
  }
}
