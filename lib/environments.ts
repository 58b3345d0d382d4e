/**
 * Per-environment settings: which resources exist (structural choices made at synth time) and the defaults of
 * the Terraform variables an operator tunes per run (by their Terraform names, lib/variables/catalog.ts).
 * `validateEnvironment` checks the settings when a stack is built; the stack checks the variable defaults with
 * the same rules as the variables.
 */
import * as rules from './rules';
import { Exposure, ExposureStrategy } from './exposure';
import { Storage, StorageStrategy } from './storage';
import type { SeLinuxOptions } from './registry/selinux';
import type { RedisCacheSettings } from './storage/redis-cache';
import type { ServiceType } from './registry/server';
import { TLS_MODES, type TlsMode } from './tls';
import type { EnvironmentVariables } from './variables/catalog';
import { isVariableName, mayBeSetPerEnvironment } from './variables/catalog';
import { type GarbageCollectionSettings, type MirrorSettings, validateGarbageCollection, validateMirror } from './operations/settings';
import { type MonitoringSettings, validateMonitoring } from './monitoring/settings';

export type { ServiceType, TlsMode };

export interface CloudSettings {
  /** Terraform Cloud / HCP Terraform organization. */
  readonly organization: string;
  /** Workspace name, one per environment. */
  readonly workspace: string;
  /** @default app.terraform.io */
  readonly hostname?: string;
}

export interface EnvironmentSettings {
  /** Short name: the stack is `registry-<name>`. */
  readonly name: string;
  /**
   * Where the registry's certificate comes from: `generated` (a private CA made by the tls provider), `provided`
   * (PEM variables) or `cert-manager` (a Certificate from `cert_manager_issuer_name`, renewed by cert-manager;
   * docs/certificates.md).
   */
  readonly tlsMode: TlsMode;
  /**
   * What backs the data: `Storage.hostPath()`, `Storage.storageClass({ accessMode })`, `Storage.existingClaim()`,
   * `Storage.s3({ credentials, caBundle })`.
   */
  readonly storage: Storage;
  /**
   * Redis for the blob-descriptor cache, shared by every replica (variables `redis_addresses`, `redis_password`,
   * ...; `redis_ca_pem` with `tls`). Recommended with several replicas. The stack takes an address; it does not
   * deploy Redis.
   * @default - each pod keeps its own in-memory cache
   */
  readonly redis?: RedisCacheSettings;
  /**
   * A HorizontalPodAutoscaler scales the registry between `replicas` and `max_replicas` pods on CPU
   * (`autoscaling_cpu_percent`). Only with storage several pods share off the nodes (`Storage.s3()`).
   * @default false
   */
  readonly autoscaling?: boolean;
  /**
   * How clients reach the registry: `Exposure.ingressNginx.install()` / `.adopt()` / `.configmapOnly()` / `.http()`,
   * `Exposure.gateway({ mode: 'attach' | 'create', route?: 'tls-passthrough' | 'https', dataPlane? })`, `Exposure.none()`.
   */
  readonly exposure: Exposure;
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
   * Defaults of the Terraform variables in this environment, by variable name (`registry_domains`,
   * `external_port`, ...). Secrets and the per-run cluster connection cannot be set here.
   * @default - the catalog's defaults
   */
  readonly variables?: EnvironmentVariables;
  /**
   * Scheduled garbage collection in a read-only window (`gc_schedule`): pushes are refused for its length, pulls
   * are served, the registry returns to read-write even when GC fails (docs/operations.md).
   * @default - none
   */
  readonly garbageCollection?: GarbageCollectionSettings;
  /**
   * A pull-through cache of `mirror_remote_url` (Docker Hub by default) beside the registry, on the registry names at
   * `mirror_external_port`; with `nodeTrust` the nodes' runtimes pull `mirror_upstream_registry` images through it.
   * @default - none
   */
  readonly mirror?: MirrorSettings;
  /**
   * Prometheus-operator monitoring of the registry (and the mirror): a ServiceMonitor on the metrics port, a
   * PrometheusRule with alerts that name their runbook (docs/operations.md) and a Grafana dashboard ConfigMap. Needs
   * the monitoring.coreos.com CRDs in the cluster at apply time (not at plan time) and `monitoring_namespace`.
   * @default - none
   */
  readonly monitoring?: MonitoringSettings;
}

export const ENVIRONMENTS: readonly EnvironmentSettings[] = [
  {
    name: 'dev',
    tlsMode: 'generated',
    storage: Storage.hostPath(),
    exposure: Exposure.ingressNginx.install(),
    serviceType: 'ClusterIP',
    preventDestroy: false,
    nodeTrust: true,
    variables: {
      registry_domains: ['registry.dev.example.internal'],
      // roles (docs/security.md): a person who administers, a CI user that pushes; the pull secret is pull-only
      registry_users: ['admin', 'ci'],
      registry_roles: ['admin:admin', 'ci:push:**'],
    },
  },
  {
    name: 'prod',
    tlsMode: 'generated',
    storage: Storage.hostPath(),
    exposure: Exposure.ingressNginx.adopt(),
    serviceType: 'ClusterIP',
    preventDestroy: true,
    nodeTrust: true,
    variables: {
      registry_domains: ['registry.example.internal'],
      storage_size: '100Gi',
      registry_users: ['admin', 'ci'],
      registry_roles: ['admin:admin', 'ci:push:**'],
      memory_limit: '1Gi',
    },
  },
];

/**
 * Example environments: each shows one more structural choice (object storage, Gateway API, ...). main.ts builds
 * them beside the shipped ones (stacks `registry-example-<name>`), so `npm run synth` and the tests cover them; copy
 * one into ENVIRONMENTS to use it.
 */
export const EXAMPLE_ENVIRONMENTS: readonly EnvironmentSettings[] = [
  {
    // Day-2 operations: weekly garbage collection in a read-only window, and a Docker Hub cache the nodes use.
    name: 'example-ops',
    tlsMode: 'generated',
    storage: Storage.hostPath(),
    exposure: Exposure.ingressNginx.install(),
    serviceType: 'ClusterIP',
    preventDestroy: true,
    nodeTrust: true,
    garbageCollection: { deleteUntagged: false },
    mirror: {},
    monitoring: {},
    variables: { registry_domains: ['registry.ops.example.internal'], monitoring_namespace: 'monitoring', monitoring_labels: ['release=kube-prometheus-stack'] },
  },
  {
    // Gateway API instead of the retired ingress-nginx: the stack creates a Gateway of the cluster's GatewayClass
    // with a TLS passthrough listener per name, and a TLSRoute to the registry (docs/gateway-api.md). With a Gateway
    // that exists already, use Exposure.gateway({ mode: 'attach' }) and set gateway_name / gateway_namespace.
    name: 'example-gateway',
    tlsMode: 'generated',
    storage: Storage.hostPath(),
    exposure: Exposure.gateway({ mode: 'create' }),
    serviceType: 'ClusterIP',
    nodeTrust: true,
    // A Docker Hub cache the nodes pull through, on the same names at mirror_external_port (a second listener each).
    mirror: {},
    variables: {
      registry_domains: ['registry.example.internal', 'registry.gateway.example.internal'],
      gateway_class_name: 'nginx',
      gateway_name: 'registry-gateway',
      gateway_namespace: 'registry-gateway',
      // NGINX Gateway Fabric runs each Gateway's data plane in the Gateway's namespace; GEP-1762 has in-cluster
      // implementations label what they generate for a Gateway with its name. Check your data-plane pods' labels
      // (`kubectl -n registry-gateway get pods --show-labels`) before relying on this selector.
      gateway_proxy_pod_labels: ['gateway.networking.k8s.io/gateway-name=registry-gateway'],
    },
  },
  {
    // The front door most clusters already have: HTTPS on 443 with a certificate clients already trust. The stack
    // creates an Envoy Gateway Gateway with one HTTPS listener per name (certificate by cert-manager's Gateway
    // annotation) and an HTTPRoute; the registry's own certificate comes from the same public ACME issuer
    // (DNS-01), so neither laptops nor nodes need a private CA: no node trust (docs/certificates.md).
    name: 'example-https',
    tlsMode: 'cert-manager',
    storage: Storage.hostPath(),
    exposure: Exposure.gateway({ mode: 'create', route: 'https', dataPlane: 'envoy-gateway' }),
    serviceType: 'ClusterIP',
    variables: {
      registry_domains: ['registry.example.com'],
      cert_manager_issuer_name: 'letsencrypt-dns01',
      gateway_class_name: 'eg',
      gateway_name: 'registry-gateway',
      gateway_namespace: 'registry-gateway',
      gateway_port: 443,
      // Envoy Gateway runs each Gateway's proxies in its own namespace, labelled with the Gateway they serve.
      gateway_proxy_namespace: 'envoy-gateway-system',
      gateway_proxy_pod_labels: ['gateway.envoyproxy.io/owning-gateway-name=registry-gateway', 'gateway.envoyproxy.io/owning-gateway-namespace=registry-gateway'],
    },
  },
  {
    // Object storage on a private S3-compatible endpoint (Ceph RGW, MinIO) with its own CA, static keys, two
    // replicas with a PodDisruptionBudget, and Redis for the blob-descriptor cache. Set s3_access_key, s3_secret_key,
    // s3_ca_pem and redis_password per run.
    name: 'example-s3',
    tlsMode: 'generated',
    storage: Storage.s3({ credentials: 'access-keys', caBundle: true }),
    redis: { tls: false },
    exposure: Exposure.ingressNginx.install(),
    serviceType: 'ClusterIP',
    preventDestroy: true,
    nodeTrust: true,
    variables: {
      registry_domains: ['registry.example.internal'],
      replicas: 2,
      s3_bucket: 'registry',
      s3_region_endpoint: 'https://s3.example.internal',
      // The registry trusts the private CA; clients and nodes do not: blobs are streamed, never redirected to the store.
      s3_disable_redirect: true,
      redis_addresses: ['redis.registry-cache.svc.cluster.local:6379'],
    },
  },
];

/** Every setting an environment may carry: a misspelt one (`nodeTrsut`) would otherwise be ignored silently. */
const SETTING_NAMES = [
  'name', 'tlsMode', 'storage', 'redis', 'autoscaling', 'exposure', 'serviceType', 'preventDestroy', 'cloud', 'nodeTrust',
  'nodeTrustSeLinuxType', 'seLinuxOptions', 'variables', 'garbageCollection', 'mirror', 'monitoring',
] as const satisfies readonly (keyof EnvironmentSettings)[];

// Compile-time check that SETTING_NAMES lists every setting: a new setting must be added there.
type Missing = Exclude<keyof EnvironmentSettings, (typeof SETTING_NAMES)[number]>;
const everySettingListed: [Missing] extends [never] ? true : Missing = true;
void everySettingListed;

const SERVICE_TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer'];

/** HCP Terraform organization and workspace names: letters, digits, '-' and '_'. */
const cloudName = (what: string) => rules.pattern('^[A-Za-z0-9_-]+$', `a Terraform Cloud ${what} name of letters, digits, '-' and '_'`);

/** A plain object setting (`redis: { tls: true }`). */
const isObject = (allowed: string): rules.Rule => ({
  allowed,
  test: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  condition: () => 'true',
});

/** A setting that must be one of the strategy objects a factory makes. */
function requireStrategy(field: string, value: unknown, isStrategy: boolean, factories: string): void {
  if (!isStrategy) throw new Error(rules.message(field, JSON.stringify(value) ?? String(value), { allowed: `a strategy made by ${factories}` }));
}

/**
 * Checks an environment's structural settings; throws naming the environment, the setting, the value and what
 * is allowed. The variable defaults are checked by the stack, against the same rules as its variables.
 */
export function validateEnvironment(env: EnvironmentSettings): void {
  rules.check('environment name', env.name, [rules.dns1123Label]);
  for (const key of Object.keys(env)) {
    if (!(SETTING_NAMES as readonly string[]).includes(key)) {
      throw new Error(`environment ${env.name}: ${key}: is not allowed; expected one of the settings ${SETTING_NAMES.join(', ')} (lib/environments.ts EnvironmentSettings).`);
    }
  }
  const check = (setting: string, value: unknown, settingRules: readonly rules.Rule[]) =>
    rules.check(`environment ${env.name}: ${setting}`, value, settingRules);
  check('tlsMode', env.tlsMode, [rules.oneOf(TLS_MODES)]);
  requireStrategy(`environment ${env.name}: storage`, env.storage, env.storage instanceof StorageStrategy,
    'Storage.hostPath(), Storage.storageClass(), Storage.existingClaim() or Storage.s3()');
  requireStrategy(`environment ${env.name}: exposure`, env.exposure, env.exposure instanceof ExposureStrategy,
    'Exposure.ingressNginx.install(), .adopt(), .configmapOnly(), .http(), Exposure.gateway({ mode, route }) or Exposure.none()');
  env.storage.validate(check);
  env.exposure.validate(check);
  if (env.exposure.requiresCertManager && env.tlsMode !== 'cert-manager') {
    throw new Error(`environment ${env.name}: tlsMode: ${JSON.stringify(env.tlsMode)} is not allowed with exposure ${env.exposure.kind}; expected "cert-manager" (the Gateway listener the stack creates gets its certificate from the same issuer).`);
  }
  check('serviceType', env.serviceType, [rules.oneOf(SERVICE_TYPES)]);
  if (env.preventDestroy !== undefined) check('preventDestroy', env.preventDestroy, [rules.boolean]);
  if (env.redis !== undefined) {
    check('redis', env.redis, [isObject('{ tls?: boolean }')]);
    for (const key of Object.keys(env.redis)) {
      if (key !== 'tls') throw new Error(`environment ${env.name}: redis.${key}: is not allowed; expected no other option than tls.`);
    }
    if (env.redis.tls !== undefined) check('redis.tls', env.redis.tls, [rules.boolean]);
  }
  if (env.autoscaling !== undefined) {
    check('autoscaling', env.autoscaling, [rules.boolean]);
    if (env.autoscaling && !env.storage.spreadsReplicas) {
      throw new Error(`environment ${env.name}: autoscaling: is not allowed with ${env.storage.kind} storage; expected storage several pods share off the nodes (Storage.s3()).`);
    }
  }
  if (env.nodeTrust && env.exposure.terminatesTls) {
    throw new Error(`environment ${env.name}: nodeTrust: true is not allowed with exposure ${env.exposure.kind}; expected nodeTrust off: clients and nodes meet the front door's certificate on 443 (trust its issuer system-wide on the nodes, or nothing with a public issuer).`);
  }
  if (env.nodeTrustSeLinuxType !== undefined && !env.nodeTrust) {
    throw new Error(`environment ${env.name}: nodeTrustSeLinuxType: is not allowed without nodeTrust; expected nodeTrust: true.`);
  }
  if (env.garbageCollection !== undefined) validateGarbageCollection(check, env.garbageCollection, env.storage, env.redis);
  if (env.mirror !== undefined) validateMirror(check, env.mirror, env.exposure);
  if (env.monitoring !== undefined) validateMonitoring(check, env.monitoring);
  for (const name of Object.keys(env.variables ?? {})) {
    if (!isVariableName(name)) {
      throw new Error(`environment ${env.name}: variables.${name}: is not allowed; expected the name of a variable in lib/variables/catalog.ts.`);
    }
    if (!mayBeSetPerEnvironment(name)) {
      throw new Error(`environment ${env.name}: variables.${name}: is not allowed; expected it set per run (a tfvars file, TF_VAR_${name} or a workspace variable), never in code.`);
    }
  }
  if (env.cloud) {
    check('cloud.organization', env.cloud.organization, [cloudName('organization')]);
    check('cloud.workspace', env.cloud.workspace, [cloudName('workspace')]);
    check('cloud.hostname', env.cloud.hostname, [rules.optional(rules.domainName)]);
  }
}
