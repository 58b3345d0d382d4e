/**
 * Per-environment structural settings: which resources exist. Values an operator tunes per run (domain, port,
 * sizes, users, ...) are Terraform variables in registry-stack.ts; the `defaults` here only seed their defaults.
 * `validateEnvironment` checks the settings when a stack is built, with the same rules as the variables.
 */
import * as rules from './rules';

import type { SeLinuxOptions } from './registry';

/** Where the certificate comes from. */
export type TlsMode =
  /** The tls provider makes a CA and a leaf certificate signed by it. */
  | 'generated'
  /** The operator supplies certificate, key and CA PEMs as sensitive variables. */
  | 'provided';

/** What backs /var/lib/registry. */
export type StorageKind =
  /** A hostPath PersistentVolume pinned to one node (Retain) and a claim bound to it by name. */
  | 'host-path'
  /** A claim provisioned dynamically by a storage class. */
  | 'storage-class'
  /** A claim the operator created beforehand. */
  | 'existing-claim';

/** How clients outside the cluster reach the registry. */
export type ExposureMode =
  /** This stack installs ingress-nginx with a Helm release that routes the TCP port. */
  | 'install'
  /** An ingress-nginx Helm release already exists: import it and add the TCP route, keeping its other values. */
  | 'adopt'
  /** ingress-nginx was not installed by Helm: patch its tcp-services ConfigMap; the operator adds one flag. */
  | 'configmap-only'
  /** No exposure: the Service alone (ClusterIP, NodePort or LoadBalancer). */
  | 'none';

export type AccessMode = 'ReadWriteOnce' | 'ReadWriteMany';

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

export interface CloudSettings {
  /** Terraform Cloud / HCP Terraform organization. */
  readonly organization: string;
  /** Workspace name, one per environment. */
  readonly workspace: string;
  /** @default app.terraform.io */
  readonly hostname?: string;
}

/** Defaults for the stack's Terraform variables in this environment. */
export interface VariableDefaults {
  readonly namespace: string;
  readonly appName: string;
  readonly domains: string[];
  readonly ipAddresses: string[];
  readonly externalPort: number;
  readonly image: string;
  readonly replicas: number;
  readonly storageSize: string;
  readonly hostPath: string;
  readonly nodeName: string;
  readonly storageClass: string;
  readonly existingClaim: string;
  readonly users: string[];
  readonly certValidityHours: number;
  readonly certEarlyRenewalHours: number;
  readonly chartVersion: string;
  readonly ingressNamespace: string;
  readonly ingressReleaseName: string;
  readonly tcpConfigMapName: string;
  readonly kubeconfigPath: string | null;
  readonly kubeContext: string | null;
  /** Namespaces (besides the ingress controller's) whose pods may connect to the registry port. */
  readonly allowedClientNamespaces: string[];
  /** Namespace whose pods may scrape the metrics port; empty: nobody. */
  readonly monitoringNamespace: string;
  readonly cpuRequest: string;
  readonly memoryRequest: string;
  readonly memoryLimit: string;
  /** Image of the node-trust DaemonSet (a POSIX sh and busybox), pinned. */
  readonly nodeTrustImage: string;
  /** Namespace created for the node-trust DaemonSet (Pod Security "privileged": it mounts hostPath). */
  readonly nodeTrustNamespace: string;
  /** Namespaces that get an image pull secret for the registry (may be empty). */
  readonly pullSecretNamespaces: string[];
}

export interface EnvironmentSettings {
  /** Short name: the stack is `registry-<name>`. */
  readonly name: string;
  readonly tlsMode: TlsMode;
  readonly storageKind: StorageKind;
  /**
   * Access mode of the claim. More than one replica needs ReadWriteMany (shared) storage; `host-path` is always
   * ReadWriteOnce.
   * @default "ReadWriteOnce"
   */
  readonly storageAccessMode?: AccessMode;
  readonly exposure: ExposureMode;
  readonly serviceType: ServiceType;
  /**
   * Protect the registry's PersistentVolume and claim with Terraform `prevent_destroy`: any plan that would delete
   * or replace them (`cdktf destroy`, a renamed volume, a changed node) fails instead. The hostPath volume is
   * `Retain` either way, so even a deleted volume leaves the images on the node's disk. To really remove an
   * environment, set this to false, synthesize, then destroy.
   * @default true (only throw-away environments such as dev turn it off)
   */
  readonly preventDestroy?: boolean;
  /** Use Terraform Cloud with one workspace for this environment; local state when absent. */
  readonly cloud?: CloudSettings;
  /**
   * Deploy the node-trust DaemonSet: every node's containerd / CRI-O trusts the registry CA for each registry
   * host:port (docs/node-trust.md). It lives in its own namespace with the "privileged" Pod Security level.
   * @default false
   */
  readonly nodeTrust?: boolean;
  /**
   * SELinux type for the node-trust pod on SELinux nodes, where `container_t` may not write host /etc
   * (e.g. `spc_t`). Only with `nodeTrust`.
   * @default - the runtime's default type
   */
  readonly nodeTrustSeLinuxType?: string;
  /**
   * SELinux label of the registry pod, e.g. `{ level: 's0:c100,c200' }` so data written on a hostPath stays
   * readable across restarts (docs/selinux.md).
   * @default - the runtime's default label (random MCS categories)
   */
  readonly seLinuxOptions?: SeLinuxOptions;
  /**
   * `host-path` storage only: an init container chowns the data directory to uid 1000 when its top directory is
   * owned by someone else (fsGroup does not apply to hostPath). It needs root with CHOWN, so the registry
   * namespace then enforces the "baseline" Pod Security Standard (warn/audit "restricted") instead of "restricted".
   * @default false
   */
  readonly chownHostPath?: boolean;
  readonly defaults: VariableDefaults;
}

/** The node-trust DaemonSet's image: busybox (sh, cmp, grep, mv, date), pinned. */
export const NODE_TRUST_IMAGE = 'docker.io/library/busybox:1.37.0';

/** The registry image: distribution v3, pinned. */
export const REGISTRY_IMAGE = 'docker.io/library/registry:3.1.0';
/** ingress-nginx chart, the 4.x line's last release series. */
export const INGRESS_NGINX_CHART_VERSION = '4.15.1';

const common: VariableDefaults = {
  namespace: 'registry',
  appName: 'registry',
  domains: ['registry.example.internal'],
  ipAddresses: [],
  externalPort: 5000,
  image: REGISTRY_IMAGE,
  replicas: 1,
  storageSize: '20Gi',
  hostPath: '/var/lib/registry',
  nodeName: 'worker-1',
  storageClass: '',
  existingClaim: '',
  users: ['admin'],
  certValidityHours: 8760,
  certEarlyRenewalHours: 720,
  chartVersion: INGRESS_NGINX_CHART_VERSION,
  ingressNamespace: 'ingress-nginx',
  ingressReleaseName: 'ingress-nginx',
  tcpConfigMapName: 'ingress-nginx-tcp',
  kubeconfigPath: '~/.kube/config',
  kubeContext: null,
  allowedClientNamespaces: [],
  monitoringNamespace: '',
  cpuRequest: '100m',
  memoryRequest: '128Mi',
  memoryLimit: '512Mi',
  nodeTrustImage: NODE_TRUST_IMAGE,
  nodeTrustNamespace: 'registry-node-trust',
  pullSecretNamespaces: [],
};

export const ENVIRONMENTS: readonly EnvironmentSettings[] = [
  {
    name: 'dev',
    tlsMode: 'generated',
    storageKind: 'host-path',
    exposure: 'install',
    serviceType: 'ClusterIP',
    preventDestroy: false,
    nodeTrust: true,
    defaults: { ...common, domains: ['registry.dev.example.internal'] },
  },
  {
    name: 'prod',
    tlsMode: 'generated',
    storageKind: 'host-path',
    exposure: 'adopt',
    serviceType: 'ClusterIP',
    preventDestroy: true,
    nodeTrust: true,
    defaults: {
      ...common,
      domains: ['registry.example.internal'],
      storageSize: '100Gi',
      users: ['admin', 'ci'],
      memoryLimit: '1Gi',
    },
  },
];

const TLS_MODES: readonly TlsMode[] = ['generated', 'provided'];
const STORAGE_KINDS: readonly StorageKind[] = ['host-path', 'storage-class', 'existing-claim'];
const EXPOSURE_MODES: readonly ExposureMode[] = ['install', 'adopt', 'configmap-only', 'none'];
const ACCESS_MODES: readonly AccessMode[] = ['ReadWriteOnce', 'ReadWriteMany'];
const SERVICE_TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer'];

/** HCP Terraform organization and workspace names: letters, digits, '-' and '_'. */
const cloudName = (what: string) => rules.pattern('^[A-Za-z0-9_-]+$', `a Terraform Cloud ${what} name of letters, digits, '-' and '_'`);

/**
 * Checks an environment's structural settings; throws naming the environment, the setting, the value and what
 * is allowed. The variable defaults are checked by the stack, against the same rules as its variables.
 */
export function validateEnvironment(env: EnvironmentSettings): void {
  rules.check('environment name', env.name, [rules.dns1123Label]);
  const check = (setting: string, value: unknown, settingRules: readonly rules.Rule[]) =>
    rules.check(`environment ${env.name}: ${setting}`, value, settingRules);
  check('tlsMode', env.tlsMode, [rules.oneOf(TLS_MODES)]);
  check('storageKind', env.storageKind, [rules.oneOf(STORAGE_KINDS)]);
  check('exposure', env.exposure, [rules.oneOf(EXPOSURE_MODES)]);
  check('serviceType', env.serviceType, [rules.oneOf(SERVICE_TYPES)]);
  check('storageAccessMode', env.storageAccessMode, [
    rules.optional(
      env.storageKind === 'host-path'
        ? rules.oneOf(['ReadWriteOnce'], '"ReadWriteOnce": storageKind "host-path" is one node\'s disk, which only one node can mount')
        : rules.oneOf(ACCESS_MODES),
    ),
  ]);
  if (env.preventDestroy !== undefined && typeof env.preventDestroy !== 'boolean') {
    throw new Error(`environment ${env.name}: preventDestroy: ${JSON.stringify(env.preventDestroy)} is not allowed; expected true or false.`);
  }
  if (env.chownHostPath && env.storageKind !== 'host-path') {
    throw new Error(`chownHostPath: true is not allowed with storageKind ${JSON.stringify(env.storageKind)}; expected it only with "host-path" storage.`);
  }
  if (env.nodeTrustSeLinuxType !== undefined && !env.nodeTrust) {
    throw new Error('nodeTrustSeLinuxType: is not allowed without nodeTrust; expected nodeTrust: true.');
  }
  if (env.cloud) {
    check('cloud.organization', env.cloud.organization, [cloudName('organization')]);
    check('cloud.workspace', env.cloud.workspace, [cloudName('workspace')]);
    check('cloud.hostname', env.cloud.hostname, [rules.optional(rules.domainName)]);
  }
}
