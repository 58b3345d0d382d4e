import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { PersistentVolumeClaimV1 } from '@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import type { RegistryAuth } from '../auth';
import type { RegistryContext } from '../context';
import { nullIfEmpty } from '../hcl';
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
 * public content (docs/operations.md). Its network policy admits the registry's peers.
 *
 * As a feature (`attach`) it is the worked example of the pattern: one construct that reads its own variables and
 * attaches itself to the shared parts: a route on the exposure, a network policy with the registry's peers, a mirror
 * in node trust, and its output.
 */
export class RegistryMirror extends Construct {
  public readonly upstreamSecret: SecretV1;
  public readonly claim: PersistentVolumeClaimV1;
  public readonly server: RegistryServer;

  /** The pull-through cache as a feature of the registry in `context`: reads the `mirror_*` variables and attaches itself. */
  static attach(context: RegistryContext): RegistryMirror {
    const vars = context.variables;
    const mirror = new RegistryMirror(context.scope, 'mirror', {
      namespace: context.namespace,
      name: Fn.format('%s-mirror', [context.appName]),
      image: context.image,
      remoteUrl: vars.string('mirror_remote_url'),
      ttl: vars.string('mirror_ttl'),
      upstreamUsername: vars.string('mirror_username'),
      upstreamPassword: vars.string('mirror_password'),
      storageSize: vars.string('mirror_storage_size'),
      storageClassName: (vars.declare('mirror_storage_class'), nullIfEmpty('mirror_storage_class')),
      tls: context.tls,
      auth: context.auth,
      resources: context.resources,
      seLinuxOptions: context.environment.seLinuxOptions,
    });
    const server = mirror.server;
    const externalPort = vars.number('mirror_external_port');
    context.exposure.addRoute({ externalPort, target: { namespace: context.namespace, serviceName: server.service.metadata.name, port: server.port } });
    context.networkPolicy.protect(mirror, 'network-policy', {
      name: server.service.metadata.name, podSelector: server.selector, registryPort: server.port, metricsPort: server.debugPort,
    });
    // The cache on the registry's first name, as nodes and clients reach it.
    const hostPort = Fn.format('%s:%s', [Fn.element(context.domains, 0), externalPort]);
    context.nodeTrust?.addMirror({ hostPort, upstreamRegistry: vars.string('mirror_upstream_registry'), upstreamUrl: vars.string('mirror_remote_url') });
    context.outputs.add('mirror_endpoint', hostPort, 'host:port of the pull-through cache (pull <upstream>/<image> as <mirror_endpoint>/<image>).');
    return mirror;
  }

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
