import { Construct } from 'constructs';
import { Fn, type IResolvable, Token } from 'cdktf';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { DaemonSetV1 } from '@cdktf/provider-kubernetes/lib/daemon-set-v1';
import { DEFAULT_CONTAINERD_HOST_CERTS_DIR, MIRROR_ENV, renderNodeTrustScript } from './script';
import { seLinuxName } from '../registry/selinux';
import { MANAGED_BY, workloadLabels, selectorLabels } from '../labels';
import * as rules from '../rules';
import { literalText } from '../hcl';

/** Name of the node-trust DaemonSet; prefix of its CA ConfigMap. */
export const NODE_TRUST_NAME = 'registry-node-trust';

/** Where CRI-O, podman, skopeo and buildah read per-registry CAs on a node. */
export const DEFAULT_CONTAINERS_HOST_CERTS_DIR = '/etc/containers/certs.d';

/** Where CRI-O, podman and skopeo read registries.conf drop-ins (the cache's mirror entry). */
export const DEFAULT_CONTAINERS_REGISTRIES_DIR = '/etc/containers/registries.conf.d';

/** Paths inside the node-trust pod. */
export const NODE_TRUST_MOUNTS = {
  caDir: '/run/registry-ca',
  containerdCertsDir: '/host/etc/containerd/certs.d',
  containersCertsDir: '/host/etc/containers/certs.d',
  containersRegistriesDir: '/host/etc/containers/registries.conf.d',
} as const;

/** The environment variable the script reads its "host:port" list from (known only at apply time). */
export const REGISTRY_HOSTS_ENV = 'REGISTRY_HOSTS';

export interface RegistryNodeTrustProps {
  /**
   * Namespace created for the DaemonSet, labelled for the `privileged` Pod Security Standard: its hostPath
   * volumes are refused by `baseline` and `restricted`, so it cannot share the registry's namespace.
   */
  readonly namespace: string;
  /**
   * Name of the DaemonSet; prefix of its CA ConfigMap.
   * @default NODE_TRUST_NAME ("registry-node-trust")
   */
  readonly name?: string;
  /** The registry CA certificate PEM (public material only: never the TLS secret, which holds the key). */
  readonly caPem: string;
  /** Every "host:port" nodes pull from (may be a Terraform list expression). */
  readonly registryHosts: string[];
  /** A small image with a POSIX sh and busybox/coreutils, pinned. */
  readonly image: string;
  /**
   * Seconds between passes: a rotated CA reaches the nodes within this time plus the kubelet's ConfigMap sync.
   * @default 60
   */
  readonly intervalSeconds?: number;
  /**
   * SELinux type of the pod on SELinux nodes, where `container_t` may not write host `/etc` (e.g. `spc_t`).
   * @default - the runtime's default type (`container_t`)
   */
  readonly seLinuxType?: string;
  /**
   * containerd's certs.d directory on the node (k3s/RKE2 keep it elsewhere).
   * @default "/etc/containerd/certs.d"
   */
  readonly containerdCertsDir?: string;
  /**
   * The containers-image certs.d directory on the node (CRI-O, podman).
   * @default "/etc/containers/certs.d"
   */
  readonly containersCertsDir?: string;
  /**
   * Point the runtimes at a pull-through cache for one upstream (values may be Terraform expressions): containerd
   * `certs.d/<upstreamRegistry>/hosts.toml`, a registries.conf.d drop-in for CRI-O. Adds a third hostPath mount.
   * @default - no cache
   */
  readonly mirror?: {
    /** "host:port" of the cache as nodes reach it. */
    readonly hostPort: string;
    /** How image references name the upstream (docker.io). */
    readonly upstreamRegistry: string;
    /** The upstream's URL, containerd's fallback `server` (https://registry-1.docker.io). */
    readonly upstreamUrl: string;
    /**
     * base64("user:password") of the cache's pull credential (sensitive): kept in a Secret beside the DaemonSet and
     * written on the nodes as containerd's `Authorization: Basic` header and a containers-auth.json for CRI-O.
     */
    readonly basicAuth: string;
  };
  /**
   * The registries.conf.d directory on the node (only with `mirror`).
   * @default "/etc/containers/registries.conf.d"
   */
  readonly containersRegistriesDir?: string;
}

/**
 * Makes every node's container runtime trust the registry CA: a DaemonSet on all nodes (every taint tolerated)
 * runs the script from `renderNodeTrustScript`, which keeps `ca.crt` (+ containerd's `hosts.toml`) under
 * `certs.d/<host:port>/` on the host. Least privilege: root only for the root-owned host directories, every
 * capability dropped, not privileged, read-only root filesystem, no service account token, and hostPath mounts
 * of exactly the two certs.d directories.
 */
export class RegistryNodeTrust extends Construct {
  public readonly namespace: NamespaceV1;
  /** The CA certificate, mounted as a directory so a rotation propagates (subPath mounts never update). */
  public readonly caConfigMap: ConfigMapV1;
  public readonly daemonSet: DaemonSetV1;
  /** The script the container runs (`sh -c <script>`). */
  public readonly script: string;
  /** Key of the CA in `caConfigMap`. */
  public readonly caKey = 'ca.crt';
  /** The cache's pull credential beside the DaemonSet (only with `mirror`): a Secret cannot be read across namespaces. */
  public readonly mirrorCredential?: SecretV1;

  constructor(scope: Construct, id: string, props: RegistryNodeTrustProps) {
    super(scope, id);
    const name = props.name ?? NODE_TRUST_NAME;
    const containerdHostDir = props.containerdCertsDir ?? DEFAULT_CONTAINERD_HOST_CERTS_DIR;
    const containersHostDir = props.containersCertsDir ?? DEFAULT_CONTAINERS_HOST_CERTS_DIR;
    rules.check('name', name, [rules.dns1123Label]);
    rules.check('containerdCertsDir', containerdHostDir, [rules.absolutePath]);
    rules.check('containersCertsDir', containersHostDir, [rules.absolutePath]);
    if (props.seLinuxType !== undefined) rules.check('seLinuxType', props.seLinuxType, [seLinuxName]);

    // The host list comes from Terraform variables, so the script reads it from the environment at run time.
    this.script = renderNodeTrustScript({
      caPath: `${NODE_TRUST_MOUNTS.caDir}/${this.caKey}`,
      containerdCertsDir: NODE_TRUST_MOUNTS.containerdCertsDir,
      containersCertsDir: NODE_TRUST_MOUNTS.containersCertsDir,
      containerdHostCertsDir: containerdHostDir,
      intervalSeconds: props.intervalSeconds ?? 60,
      ...(props.mirror ? { mirror: { containersRegistriesDir: NODE_TRUST_MOUNTS.containersRegistriesDir } } : {}),
    });
    const registriesHostDir = props.containersRegistriesDir ?? DEFAULT_CONTAINERS_REGISTRIES_DIR;
    rules.check('containersRegistriesDir', registriesHostDir, [rules.absolutePath]);

    const selector = selectorLabels(name, 'node-trust');
    const labels = workloadLabels(name, 'node-trust');

    this.namespace = new NamespaceV1(this, 'namespace', {
      metadata: {
        name: props.namespace,
        labels: {
          ...MANAGED_BY,
          // hostPath volumes are refused by "baseline" and "restricted"; this namespace holds only this DaemonSet.
          'pod-security.kubernetes.io/enforce': 'privileged',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    });
    const ns = this.namespace.metadata.name;

    this.caConfigMap = new ConfigMapV1(this, 'ca', {
      metadata: { name: `${name}-ca`, namespace: ns, labels },
      data: { [this.caKey]: props.caPem },
    });

    if (props.mirror) {
      this.mirrorCredential = new SecretV1(this, 'mirror-credential', {
        metadata: { name: `${name}-mirror-credential`, namespace: ns, labels },
        data: { auth: props.mirror.basicAuth },
      });
    }

    const hostDir = (volume: string, path: string) => ({ name: volume, hostPath: { path, type: 'DirectoryOrCreate' } });

    this.daemonSet = new DaemonSetV1(this, 'daemon-set', {
      metadata: { name, namespace: ns, labels },
      // Nodes come and go; the DaemonSet converges on its own and must not hold up the registry's apply.
      waitForRollout: false,
      spec: {
        selector: { matchLabels: selector },
        revisionHistoryLimit: 3,
        template: {
          metadata: {
            labels,
            // The script reads the credential from its environment at start: a new one restarts the pods.
            ...(props.mirror ? { annotations: { 'private-registry-stack/mirror-credential-sha256': Fn.nonsensitive(Fn.sha256(props.mirror.basicAuth)) } } : {}),
          },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 10,
            // Every node that may run workloads needs the CA, whatever its taints.
            toleration: [{ operator: 'Exists' }],
            securityContext: {
              // root only because the host's certs.d directories are root's (0755); no capability is needed
              runAsUser: '0',
              runAsGroup: '0',
              runAsNonRoot: false,
              seccompProfile: { type: 'RuntimeDefault' },
              ...(props.seLinuxType ? { seLinuxOptions: { type: props.seLinuxType } } : {}),
            },
            container: [
              {
                name: 'node-trust',
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                command: ['sh', '-c', literalText(this.script), 'node-trust'],
                env: [
                  { name: REGISTRY_HOSTS_ENV, value: Fn.join(' ', props.registryHosts) },
                  ...(props.mirror ? [
                    { name: MIRROR_ENV.upstream, value: props.mirror.upstreamRegistry },
                    { name: MIRROR_ENV.upstreamUrl, value: props.mirror.upstreamUrl },
                    { name: MIRROR_ENV.host, value: props.mirror.hostPort },
                    { name: MIRROR_ENV.auth, valueFrom: { secretKeyRef: { name: this.mirrorCredential!.metadata.name, key: 'auth', optional: false } } },
                  ] : []),
                ],
                resources: { requests: { cpu: '5m', memory: '8Mi' }, limits: { memory: '32Mi' } },
                securityContext: {
                  privileged: false,
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMount: [
                  { name: 'registry-ca', mountPath: NODE_TRUST_MOUNTS.caDir, readOnly: true },
                  { name: 'containerd-certs', mountPath: NODE_TRUST_MOUNTS.containerdCertsDir },
                  { name: 'containers-certs', mountPath: NODE_TRUST_MOUNTS.containersCertsDir },
                  ...(props.mirror ? [{ name: 'containers-registries', mountPath: NODE_TRUST_MOUNTS.containersRegistriesDir }] : []),
                ],
              },
            ],
            volume: [
              {
                name: 'registry-ca',
                configMap: { name: this.caConfigMap.metadata.name, optional: false, defaultMode: '0444', items: [{ key: this.caKey, path: this.caKey }] },
              },
              hostDir('containerd-certs', containerdHostDir),
              hostDir('containers-certs', containersHostDir),
              ...(props.mirror ? [hostDir('containers-registries', registriesHostDir)] : []),
            ],
          },
        },
      },
    });
  }

  /**
   * Refuses a plan whose CA is empty (a cert-manager issuer's CA is a per-run variable, so only Terraform sees it):
   * the nodes would be told to trust nothing. `variable` is named in the message.
   */
  requireCa(hasCa: boolean | IResolvable, variable: string): void {
    if (hasCa === true) return;
    this.daemonSet.addOverride('lifecycle.precondition', [{
      condition: typeof hasCa === 'boolean' ? 'false' : Token.asString(hasCa),
      error_message: `${variable}: "" is not allowed with node trust; expected the PEM of the issuer's CA, which node trust writes to every node (with a public issuer clients already trust, turn nodeTrust off instead).`,
    }]);
  }
}
