import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { PersistentVolumeClaimV1 } from '@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { Password } from '@cdktf/provider-random/lib/password';
import { MachineHash } from '../auth/machine-hash';
import type { RegistryAuth } from '../auth';
import type { RegistryContext } from '../context';
import { nullIfEmpty } from '../hcl';
import type { RegistryTls } from '../tls';
import { componentLabels } from '../labels';
import { MOUNTS } from '../registry/config';
import { MIRROR_AUTH_FILE } from '../node-trust/script';
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

/** The machine user nodes pull through the cache as (the only user of the cache's htpasswd file). */
export const MIRROR_PULL_USER = 'mirror-pull';

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
  /** The registry's auth: the mirror shares its http secret; its own htpasswd holds one machine user. */
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
 * Closed by default: it serves only the machine user `mirror-pull` (a generated `random_password`, its
 * `bcrypt_hash` in the cache's own htpasswd file; the registry's users are not accepted). Whoever reaches the
 * cache's port (the ingress-nginx controller's LoadBalancer, or the Gateway's address) and lacks that password gets 401, so the
 * operator's upstream token, rate limit and disk serve only holders of the credential: the nodes, through node
 * trust (containerd: a static `Authorization` header in hosts.toml; CRI-O: an auth file it is pointed at, see
 * `node_steps`), and whom the operator hands the `mirror_pull_password` output. Pod pull secrets cannot do this:
 * containerd sends them only to the image's own host and CRI-O drops them for mirrors. The network policy admits
 * the registry's peers (the exposure's proxy, `allowed_client_namespaces`, `allowed_client_cidrs`): behind a proxy
 * the cache sees the proxy, not the node, so the credential is what closes it. Pushes and deletes are refused by
 * distribution in proxy mode; the pull user can do nothing else.
 *
 * The upstream credentials are JSON-encoded in their secret (a JSON string is a YAML string: distribution
 * YAML-decodes every REGISTRY_* override, so a raw token starting with `*`, `#` or `|` would crash the cache or
 * turn empty), and their content hash is on the pod template: a rotated token rolls the pod.
 *
 * As a feature (`attach`) it is the worked example of the pattern: one construct that reads its own variables and
 * attaches itself to the shared parts: a route on the exposure, a network policy with the registry's peers, a mirror
 * in node trust, and its output.
 */
export class RegistryMirror extends Construct {
  public readonly upstreamSecret: SecretV1;
  /** The machine user's generated password (letters and digits). */
  public readonly pullPassword: Password;
  /** The cache's htpasswd file: the machine user only. */
  public readonly htpasswdSecret: SecretV1;
  /**
   * The machine credential as node runtimes send it: `username`, `password`, and `auth` =
   * base64("mirror-pull:<password>") (containerd's Basic header, a containers-auth.json `auth`).
   */
  public readonly pullSecret: SecretV1;
  /** base64("mirror-pull:<password>"), sensitive: what node trust sends. */
  public readonly pullAuth: string;
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
    context.nodeTrust?.addMirror({
      hostPort, upstreamRegistry: vars.string('mirror_upstream_registry'), upstreamUrl: vars.string('mirror_remote_url'),
      basicAuth: mirror.pullAuth,
    });
    context.outputs.add('mirror_endpoint', hostPort, 'host:port of the pull-through cache (pull <upstream>/<image> as <mirror_endpoint>/<image>).');
    context.outputs.add('mirror_pull_username', MIRROR_PULL_USER, 'The pull-through cache\'s only user (pull-only: the cache refuses pushes and deletes).');
    context.outputs.add('mirror_pull_password', mirror.pullPassword.result, 'Password of mirror_pull_username: the cache answers 401 without it. Nodes get it through node trust.', true);
    if (context.nodeTrust) {
      context.outputs.add('node_steps', nodeSteps(hostPort), 'What each CRI-O node needs once before it pulls through the cache (containerd nodes need nothing).');
    }
    return mirror;
  }

  constructor(scope: Construct, id: string, props: RegistryMirrorProps) {
    super(scope, id);
    const labels = componentLabels('mirror');
    this.upstreamSecret = new SecretV1(this, 'upstream', {
      metadata: { name: Fn.format('%s-upstream', [props.name]), namespace: props.namespace, labels },
      // JSON strings: distribution YAML-decodes each REGISTRY_* value, and a JSON string is a YAML string.
      data: { username: Fn.jsonencode(props.upstreamUsername), password: Fn.jsonencode(props.upstreamPassword) },
    });
    // Letters and digits only: safe in an htpasswd line, a TOML string and a JSON string. High entropy (190 bits),
    // so bcrypt's cost guards nothing an attacker could guess: cost 4 (MachineHash), as for every generated credential.
    this.pullPassword = new Password(this, 'pull-password', { length: 32, special: false });
    this.htpasswdSecret = new SecretV1(this, 'htpasswd', {
      metadata: { name: Fn.format('%s-htpasswd', [props.name]), namespace: props.namespace, labels },
      data: { htpasswd: Fn.format('%s:%s\n', [MIRROR_PULL_USER, new MachineHash(this, 'pull-hash', { password: this.pullPassword }).hash]) },
    });
    this.pullAuth = Fn.base64encode(Fn.format('%s:%s', [MIRROR_PULL_USER, this.pullPassword.result]));
    this.pullSecret = new SecretV1(this, 'pull-credential', {
      metadata: { name: Fn.format('%s-pull', [props.name]), namespace: props.namespace, labels },
      data: {
        username: MIRROR_PULL_USER,
        password: this.pullPassword.result,
        auth: this.pullAuth,
      },
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
      htpasswd: { secret: this.htpasswdSecret, key: 'htpasswd' },
      // The upstream credentials are read at start: a rotated token rolls the pod.
      restartOnChange: [props.upstreamUsername, props.upstreamPassword],
      extraEnv: [
        { name: PROXY_ENV.remoteUrl, value: props.remoteUrl },
        { name: PROXY_ENV.ttl, value: props.ttl },
        secretEnv(PROXY_ENV.username, 'username'),
        secretEnv(PROXY_ENV.password, 'password'),
      ],
    });
  }
}

/**
 * The one step node trust cannot take on a CRI-O node: CRI-O reads registries.conf.d only at start or on SIGHUP,
 * and `global_auth_file` only at start. Signalling it from the DaemonSet would need hostPID and a privileged
 * container on every node (root on the node, for the life of the DaemonSet) where node trust now writes files and
 * holds no capability; so the step is an output, not an action. containerd re-reads hosts.toml on every pull.
 */
export function nodeSteps(mirrorHostPort: string): string {
  return [
    'CRI-O nodes only (containerd re-reads hosts.toml and needs nothing): once per node, after the node-trust pod ran there,',
    'point CRI-O at the cache credential node trust writes, and restart it (SIGHUP does not re-read global_auth_file):',
    `  printf '[crio.image]\\nglobal_auth_file = "/etc/containers/registries.conf.d/${MIRROR_AUTH_FILE}"\\n' > /etc/crio/crio.conf.d/90-registry-mirror.conf && systemctl restart crio`,
    `Until then CRI-O pulls past the cache, straight from the upstream. If the node already sets global_auth_file, merge the ${mirrorHostPort} entry of ${MIRROR_AUTH_FILE} into that file instead.`,
  ].join('\n');
}
