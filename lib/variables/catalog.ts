/**
 * The catalog of Terraform variables: every knob an operator turns per run, each declared once with its type,
 * description, project-wide default, sensitivity and validation rules. The stack declares the variables it uses
 * from here (lib/variables/stack-variables.ts); the variable table in docs/configuration.md, terraform.tfvars.example and the validation tests
 * are generated from or checked against it (`npm run docs`). A name that is not in the catalog does not compile.
 *
 * Environments override defaults by the same names (lib/environments.ts `variables`). A few rules and one
 * description depend on the environment (its storage's replica limit, another variable's default): those are
 * functions of a `VariableContext`.
 */
import type { ExposureStrategy } from '../exposure/strategy';
import * as rules from '../rules';
import type { StorageStrategy } from '../storage/strategy';
import type { GarbageCollectionSettings } from '../operations/settings';

export type VariableType = 'string' | 'number' | 'bool' | 'list(string)';

/** What a variable's dynamic parts may look at. */
export interface VariableContext {
  /** The environment's storage strategy (its replica limit). */
  readonly storage: StorageStrategy;
  /** The environment's exposure (the rules it adds to the registry's names and addresses). */
  readonly exposure: ExposureStrategy;
  /** The environment's garbage collection, if any (its options decide which images are safe). */
  readonly garbageCollection?: GarbageCollectionSettings;
  /** Whether the environment runs the pull-through cache. */
  readonly mirror: boolean;
  /** The default another variable has in this environment (the environment's override, else the catalog's). */
  defaultOf(name: string): unknown;
}

type Dynamic<T> = T | ((context: VariableContext) => T);

export interface VariableSpec {
  readonly type: VariableType;
  readonly description: Dynamic<string>;
  /**
   * The default in every environment that does not override it.
   * @default - none: the operator must set it (or the environment must give one)
   */
  readonly default?: string | number | boolean | readonly string[];
  /** @default false */
  readonly sensitive?: boolean;
  /**
   * Whether an environment may set the default (`false` for secrets and per-run connection details, which never
   * belong in code).
   * @default true
   */
  readonly perEnvironment?: boolean;
  readonly rules: Dynamic<readonly rules.Rule[]>;
  /** When the variable exists, in words (docs/configuration.md): which settings declare it. @default "always" */
  readonly declaredWhen?: string;
  /** The description in the docs, where `description` depends on the environment. @default - the description */
  readonly docs?: string;
}

const KUBE_CONNECTION = { perEnvironment: false, default: '' } as const;

export const VARIABLES = {
  // ---- where and what ------------------------------------------------------------------------------------
  namespace: {
    type: 'string', description: 'Namespace the registry runs in (created by this stack).',
    default: 'registry', rules: [rules.dns1123Label],
  },
  app_name: {
    type: 'string', description: 'Name of the registry Deployment, Service and ConfigMap; prefix of its secrets.',
    default: 'registry', rules: [rules.dns1123Label],
  },
  registry_domains: {
    type: 'list(string)',
    description: 'DNS names clients use to reach the registry; the first one is the endpoint. All become certificate SANs.',
    default: ['registry.example.internal'],
    rules: (context) => [rules.nonEmptyList, rules.each(rules.domainName), rules.uniqueList, ...context.exposure.addedRules('registry_domains', context)],
  },
  registry_ip_addresses: {
    type: 'list(string)', description: 'IP addresses clients may use instead of a name (certificate IP SANs).',
    default: [], rules: (context) => [rules.each(rules.ipAddress), rules.uniqueList, ...context.exposure.addedRules('registry_ip_addresses', context)],
  },
  registry_image: {
    type: 'string', description: 'Registry container image, pinned by tag or digest (distribution v3 line).',
    default: 'docker.io/library/registry:3.1.0',
    rules: ({ garbageCollection }) => [
      rules.imageReference, rules.pinnedImage,
      ...(garbageCollection?.deleteUntagged ? [rules.notDistribution2WithDeleteUntagged] : []),
    ],
  },
  replicas: {
    type: 'number',
    description: ({ storage }) => storage.replicasDescription,
    docs: 'Registry pods: 1 on storage one pod mounts (host-path, ReadWriteOnce claims); more on shared storage (ReadWriteMany, up to 10) and on object storage (S3, up to 20).',
    default: 1, rules: ({ storage }) => storage.replicaRules,
  },
  cpu_request: { type: 'string', description: 'CPU request of the registry container.', default: '100m', rules: [rules.quantity] },
  memory_request: {
    type: 'string', description: 'Memory request of the registry container (at most memory_limit).', default: '128Mi',
    rules: ({ defaultOf }) => [rules.positiveQuantity, rules.notAboveQuantity('memory_limit', defaultOf('memory_limit'))],
  },
  memory_limit: { type: 'string', description: 'Memory limit of the registry container.', default: '512Mi', rules: [rules.positiveQuantity] },

  // ---- users ----------------------------------------------------------------------------------------------
  registry_users: {
    type: 'list(string)', description: 'Users that get a generated password (see the registry_passwords output).',
    default: ['admin'],
    rules: ({ defaultOf }) => [
      rules.each(rules.userName), rules.uniqueList, rules.atLeastOneUserWith('htpasswd_entries', []),
      rules.notPullUser(defaultOf('app_name')), rules.noneInHtpasswd(defaultOf('htpasswd_entries')),
    ],
  },
  htpasswd_entries: {
    type: 'list(string)', sensitive: true, perEnvironment: false,
    description: "Existing htpasswd lines 'user:$2y$...' (bcrypt only), kept as they are; not for users in registry_users or <app_name>-pull.",
    default: [],
    rules: ({ defaultOf }) => [rules.each(rules.bcryptHtpasswdEntry), rules.noPullUserLine(defaultOf('app_name'))],
  },
  registry_roles: {
    type: 'list(string)',
    description: "Roles: '<user>:admin' (everything, including DELETE and the catalog), '<user>:push:<globs>' (pull and push on those repositories) or '<user>:pull:<globs>' (pull only); globs comma-separated, * within a path component, ** across. A user without an entry is admin.",
    default: [],
    rules: ({ defaultOf }) => [
      rules.each(rules.roleEntry), rules.oneRolePerUser, rules.noPullUserRole(defaultOf('app_name')),
      rules.rolesForUsersWithPasswords(defaultOf('registry_users'), defaultOf('htpasswd_entries'), defaultOf('app_name')),
    ],
  },
  anonymous_pull_repositories: {
    type: 'list(string)',
    description: 'Repositories (globs) anyone may pull without credentials; nothing else is anonymous. Empty: every request needs a user.',
    default: [], rules: [rules.each(rules.repositoryGlob), rules.uniqueList],
  },
  front_image: {
    type: 'string', description: "Image of the registry pod's authorizing front: nginx, unprivileged, on Debian bookworm (libxcrypt's crypt() for bcrypt), pinned by tag or digest.",
    default: 'docker.io/nginxinc/nginx-unprivileged:1.28.0-bookworm', rules: [rules.imageReference, rules.pinnedImage],
  },
  pull_secret_namespaces: {
    type: 'list(string)',
    description: 'Namespaces that get a kubernetes.io/dockerconfigjson secret "<app_name>-pull" to pull from the registry (may be empty).',
    default: [], rules: [rules.each(rules.dns1123Label), rules.uniqueList],
  },

  // ---- TLS ------------------------------------------------------------------------------------------------
  cert_validity_hours: {
    type: 'number', description: 'Validity of the generated registry certificate, in hours.', declaredWhen: 'tlsMode generated',
    default: 8760, rules: [rules.wholeNumber(24, 87600)],
  },
  cert_early_renewal_hours: {
    type: 'number', description: 'Renew the certificate on the first apply this many hours before it expires.',
    declaredWhen: 'tlsMode generated', default: 720,
    rules: ({ defaultOf }) => [rules.wholeNumber(0, 87600), rules.lessThanVariable('cert_validity_hours', defaultOf('cert_validity_hours'))],
  },
  tls_certificate_pem: {
    type: 'string', sensitive: true, perEnvironment: false, declaredWhen: 'tlsMode provided',
    description: 'Registry certificate PEM (with SANs for every registry domain), followed by any intermediates.',
    rules: [rules.certificatePem],
  },
  tls_private_key_pem: {
    type: 'string', sensitive: true, perEnvironment: false, declaredWhen: 'tlsMode provided',
    description: 'Private key PEM of the registry certificate (unencrypted).', rules: [rules.privateKeyPem],
  },
  tls_ca_pem: {
    type: 'string', sensitive: true, perEnvironment: false, declaredWhen: 'tlsMode provided',
    description: 'PEM of the CA that issued the registry certificate (clients and nodes trust it).', rules: [rules.certificatePem],
  },
  cert_manager_issuer_name: {
    type: 'string', declaredWhen: 'tlsMode cert-manager',
    description: "cert-manager issuer that signs the registry's certificate (ACME with a DNS-01 solver, a private CA, ...); with Exposure.gateway({ mode: 'create', route: 'https' }) also the Gateway listener's.",
    rules: [rules.dns1123Subdomain],
  },
  cert_manager_issuer_kind: {
    type: 'string', declaredWhen: 'tlsMode cert-manager',
    description: 'Kind of that issuer: ClusterIssuer, or Issuer (in the registry namespace; a created Gateway\'s listener needs one in gateway_namespace too).',
    default: 'ClusterIssuer', rules: [rules.oneOf(['Issuer', 'ClusterIssuer'])],
  },
  cert_manager_ca_pem: {
    // Public material, sensitive like tls_ca_pem: CA inputs are handled as the keys they travel with.
    type: 'string', sensitive: true, perEnvironment: false, declaredWhen: 'tlsMode cert-manager',
    description: "PEM of the private CA behind the issuer (node trust, ca_certificate_pem and the Gateway's check of the registry use it; required with node trust); empty for a public issuer (ACME) clients already trust.",
    default: '', rules: [rules.optional(rules.certificatePem)],
  },

  // ---- storage --------------------------------------------------------------------------------------------
  storage_size: {
    type: 'string', description: 'Size of the registry volume (Kubernetes quantity, e.g. 20Gi).',
    declaredWhen: 'a volume: host-path, storage-class, existing-claim',
    default: '20Gi', rules: [rules.positiveQuantity],
  },
  host_path: {
    type: 'string', description: 'Directory on the node that holds the registry data (must be writable by uid 1000).',
    declaredWhen: 'Storage.hostPath()', default: '/var/lib/registry', rules: [rules.absolutePath],
  },
  node_name: {
    type: 'string', description: "The node whose disk holds the data (its kubernetes.io/hostname label).",
    declaredWhen: 'Storage.hostPath()', default: 'worker-1', rules: [rules.dns1123Subdomain],
  },
  storage_class: {
    type: 'string', description: "Storage class of the registry claim; empty for the cluster's default class.",
    declaredWhen: 'Storage.storageClass()', default: '', rules: [rules.optional(rules.dns1123Subdomain)],
  },
  existing_claim: {
    type: 'string', description: 'Existing PersistentVolumeClaim (in the registry namespace) to keep the data on.',
    declaredWhen: 'Storage.existingClaim()', rules: [rules.dns1123Subdomain],
  },

  // ---- object storage (Storage.s3()) ----------------------------------------------------------------------
  s3_bucket: {
    type: 'string', description: 'Bucket that holds the registry data (created beforehand; the stack never creates or deletes it).',
    declaredWhen: 'Storage.s3()', rules: [rules.s3BucketName],
  },
  s3_region: {
    type: 'string', declaredWhen: 'Storage.s3()', default: 'us-east-1',
    description: 'Region of the bucket: an AWS region, or any name the S3-compatible store at s3_region_endpoint accepts.',
    rules: ({ defaultOf }) => [rules.s3Region, rules.awsRegionWithoutEndpoint('s3_region_endpoint', defaultOf('s3_region_endpoint'))],
  },
  s3_region_endpoint: {
    type: 'string', declaredWhen: 'Storage.s3()', default: '',
    description: 'URL of an S3-compatible store (Ceph RGW, MinIO, ...), addressed path-style; empty for AWS S3.',
    rules: [rules.optional(rules.s3Endpoint)],
  },
  s3_root_directory: {
    type: 'string', declaredWhen: 'Storage.s3()', default: '/registry',
    description: 'Prefix in the bucket under which the registry keeps everything; empty for the bucket root.',
    rules: [rules.optional(rules.absolutePath)],
  },
  s3_encrypt: {
    type: 'bool', declaredWhen: 'Storage.s3()', default: false, rules: [],
    description: 'Server-side encryption of every object the registry writes (S3-managed keys, or s3_kms_key_id).',
  },
  s3_kms_key_id: {
    type: 'string', declaredWhen: 'Storage.s3()', default: '',
    description: 'KMS key for server-side encryption (needs s3_encrypt); empty for S3-managed keys.',
    rules: ({ defaultOf }) => [rules.optional(rules.kmsKeyId), rules.emptyUnless('s3_encrypt', defaultOf('s3_encrypt'))],
  },
  s3_storage_class: {
    type: 'string', declaredWhen: 'Storage.s3()', default: 'STANDARD',
    description: 'Storage class of the objects the registry writes; NONE for stores without storage classes.',
    rules: [rules.oneOf(rules.S3_STORAGE_CLASSES)],
  },
  s3_chunk_size_mib: {
    type: 'number', declaredWhen: 'Storage.s3()', default: 10, rules: [rules.wholeNumber(5, 5120)],
    description: 'Part size of the multipart uploads a push becomes, in MiB (each upload holds one part in memory).',
  },
  s3_multipart_copy_chunk_size_mib: {
    type: 'number', declaredWhen: 'Storage.s3()', default: 32, rules: [rules.wholeNumber(5, 5120)],
    description: 'Part size of the server-side copy that moves a finished upload into place, in MiB.',
  },
  s3_multipart_copy_threshold_mib: {
    type: 'number', declaredWhen: 'Storage.s3()', default: 32, rules: [rules.wholeNumber(0, 5120)],
    description: 'Blobs larger than this (MiB) are moved into place by a multipart copy, smaller ones by one copy request.',
  },
  s3_multipart_copy_max_concurrency: {
    type: 'number', declaredWhen: 'Storage.s3()', default: 100, rules: [rules.wholeNumber(1, 1000)],
    description: 'Most copy requests one multipart copy runs at once.',
  },
  s3_disable_redirect: {
    type: 'bool', declaredWhen: 'Storage.s3()', default: false, rules: ({ storage }) => storage.addedRules('s3_disable_redirect'),
    description: 'Stream blob downloads through the registry instead of redirecting clients to presigned URLs on the store (for stores clients cannot reach or do not trust: required with Storage.s3({ caBundle: true })).',
  },
  s3_access_key: {
    type: 'string', sensitive: true, perEnvironment: false, declaredWhen: "Storage.s3({ credentials: 'access-keys' })",
    description: 'Access key ID for the bucket (kept in a Secret, passed to the registry as env).', rules: [rules.s3AccessKey],
  },
  s3_secret_key: {
    type: 'string', sensitive: true, perEnvironment: false, declaredWhen: "Storage.s3({ credentials: 'access-keys' })",
    description: 'Secret access key for the bucket (kept in a Secret, passed to the registry as env).', rules: [rules.s3SecretKey],
  },
  s3_role_arn: {
    type: 'string', declaredWhen: "Storage.s3({ credentials: 'pod-identity' })",
    description: "IAM role the registry pods assume with their ServiceAccount's token (IRSA web identity); its policy grants the bucket.",
    rules: [rules.iamRoleArn],
  },
  s3_ca_pem: {
    // Public material, sensitive like tls_ca_pem: CA inputs are handled as the keys they travel with.
    type: 'string', sensitive: true, declaredWhen: 'Storage.s3({ caBundle: true })',
    description: "PEM of the CA that issued the S3 endpoint's certificate (a private endpoint): the registry trusts it besides the public roots.",
    rules: [rules.certificatePem],
  },

  // ---- Redis blob-descriptor cache (redis setting) ---------------------------------------------------------
  redis_addresses: {
    type: 'list(string)', declaredWhen: 'redis',
    description: 'Redis host:port for the blob-descriptor cache (one, or the nodes of a cluster). The stack does not deploy Redis.',
    rules: [rules.nonEmptyList, rules.each(rules.redisAddress), rules.uniqueList],
  },
  redis_username: {
    type: 'string', declaredWhen: 'redis', default: '', description: 'Redis ACL user; empty for the default user.',
    rules: [rules.optional(rules.redisUserName)],
  },
  redis_password: {
    type: 'string', sensitive: true, perEnvironment: false, declaredWhen: 'redis', default: '',
    description: 'Redis password (kept in a Secret, passed to the registry as env); empty when Redis needs none.',
    rules: [rules.optional(rules.redisPassword)],
  },
  redis_db: {
    type: 'number', declaredWhen: 'redis', default: 0, description: 'Redis database number of the cache.', rules: [rules.wholeNumber(0, 15)],
  },
  redis_ca_pem: {
    type: 'string', sensitive: true, declaredWhen: 'redis: { tls: true }',
    description: "PEM of the CA that issued Redis's TLS certificate (TLS is on with redis: { tls: true }).", rules: [rules.certificatePem],
  },

  // ---- several replicas (autoscaling setting) --------------------------------------------------------------
  max_replicas: {
    type: 'number', declaredWhen: 'autoscaling', default: 4,
    description: 'Most registry pods the HorizontalPodAutoscaler runs (it never goes below replicas).',
    rules: ({ storage, defaultOf }) => [rules.wholeNumber(2, storage.maxReplicas), rules.atLeastVariable('replicas', defaultOf('replicas'))],
  },
  autoscaling_cpu_percent: {
    type: 'number', declaredWhen: 'autoscaling', default: 75, rules: [rules.wholeNumber(10, 100)],
    description: 'Average CPU use, in percent of cpu_request, the HorizontalPodAutoscaler keeps the registry pods at.',
  },

  // ---- exposure -------------------------------------------------------------------------------------------
  external_port: {
    type: 'number', description: 'Port clients use on the ingress-nginx controller (L4 pass-through to the registry).',
    declaredWhen: 'Exposure.ingressNginx.*()', default: 5000, rules: [rules.tcpPort, rules.unreservedIngressPort],
  },
  ingress_namespace: {
    type: 'string', description: 'Namespace of the ingress-nginx controller.',
    declaredWhen: 'Exposure.ingressNginx.*()', default: 'ingress-nginx', rules: [rules.dns1123Label],
  },
  ingress_class_name: {
    type: 'string', description: 'IngressClass of the ingress-nginx controller the HTTP Ingress is for.',
    declaredWhen: 'Exposure.ingressNginx.http()', default: 'nginx', rules: [rules.dns1123Subdomain],
  },
  ingress_release_name: {
    type: 'string', description: 'Helm release name of ingress-nginx.',
    declaredWhen: 'Exposure.ingressNginx.install() / adopt()', default: 'ingress-nginx', rules: [rules.dns1123Label],
  },
  ingress_chart_version: {
    type: 'string', description: 'ingress-nginx chart version (exact).',
    declaredWhen: 'Exposure.ingressNginx.install() / adopt()', default: '4.15.1', rules: [rules.semver],
  },
  tcp_services_configmap: {
    type: 'string', description: "Name of the controller's tcp-services ConfigMap (in ingress_namespace).",
    declaredWhen: 'Exposure.ingressNginx.configmapOnly()', default: 'ingress-nginx-tcp', rules: [rules.dns1123Subdomain],
  },
  gateway_port: {
    type: 'number',
    description: "Port clients connect to: the Gateway listener's (attach: the existing listener's port; create: the listener this stack creates).",
    declaredWhen: 'Exposure.gateway()', default: 5000, rules: [rules.tcpPort],
  },
  gateway_name: {
    type: 'string', description: 'Name of the Gateway the registry TLSRoute attaches to (attach: an existing Gateway; create: the one this stack creates).',
    declaredWhen: 'Exposure.gateway()', default: 'registry-gateway', rules: [rules.dns1123Subdomain],
  },
  gateway_namespace: {
    type: 'string', description: 'Namespace of that Gateway (it must exist; with create, the Gateway is created there).',
    declaredWhen: 'Exposure.gateway()', default: 'gateway-system', rules: [rules.dns1123Label],
  },
  gateway_section_name: {
    type: 'string',
    description: "Listener (sectionName) of the existing Gateway the route attaches to; empty: every listener whose port, protocol TLS and hostname admit it.",
    declaredWhen: "Exposure.gateway({ mode: 'attach' })", default: '',
    rules: (context) => [rules.optional(rules.dns1123Subdomain), ...context.exposure.addedRules('gateway_section_name', context)],
  },
  gateway_mirror_section_name: {
    type: 'string',
    description: "Listener (sectionName) of the existing Gateway the pull-through cache's route attaches to: TLS Passthrough on mirror_external_port, admitting the registry names.",
    declaredWhen: "Exposure.gateway({ mode: 'attach' }) and mirror",
    rules: ({ defaultOf }) => [
      rules.dns1123Subdomain,
      rules.differentFrom('gateway_section_name', defaultOf('gateway_section_name'), "a listener other than the registry's (gateway_section_name)"),
    ],
  },
  gateway_class_name: {
    type: 'string', description: 'GatewayClass of the Gateway this stack creates (your implementation\'s: e.g. nginx, eg, istio, cilium).',
    declaredWhen: "Exposure.gateway({ mode: 'create' })", rules: [rules.dns1123Subdomain],
  },
  gateway_proxy_namespace: {
    type: 'string',
    description: "Namespace of the Gateway's data-plane pods, which the network policy lets reach the registry port; empty: gateway_namespace.",
    declaredWhen: 'Exposure.gateway()', default: '', rules: [rules.optional(rules.dns1123Label)],
  },
  gateway_proxy_pod_labels: {
    type: 'list(string)',
    description: "Labels 'key=value' selecting the Gateway's data-plane pods in that namespace (all must match); empty: every pod there.",
    declaredWhen: 'Exposure.gateway()', default: [], rules: [rules.each(rules.labelSelectorTerm), rules.distinctLabelKeys],
  },

  // ---- network policy -------------------------------------------------------------------------------------
  allowed_client_namespaces: {
    type: 'list(string)',
    description: "Namespaces (besides the ingress controller's) whose pods may connect to the registry port.",
    default: [], rules: [rules.each(rules.dns1123Label), rules.uniqueList],
  },
  allowed_client_cidrs: {
    type: 'list(string)', declaredWhen: 'Exposure.none()',
    description: 'Source networks (CIDR) allowed to reach the registry port directly, as the pod sees them: a LoadBalancer or NodePort Service without a proxy in front (see docs/exposure.md).',
    default: [], rules: [rules.each(rules.cidr), rules.uniqueList],
  },
  monitoring_namespace: {
    type: 'string', description: 'Namespace whose pods may scrape the metrics port; empty: nobody.',
    default: '', rules: [rules.optional(rules.dns1123Label)],
  },

  // ---- monitoring (monitoring setting) and tracing ---------------------------------------------------------
  monitoring_labels: {
    type: 'list(string)', declaredWhen: 'monitoring',
    description: "Labels 'key=value' on the ServiceMonitor and PrometheusRule: what your Prometheus selects them by (kube-prometheus-stack: release=<its release name>).",
    default: [], rules: [rules.each(rules.labelSelectorTerm), rules.distinctLabelKeys],
  },
  monitoring_scrape_interval: {
    type: 'string', declaredWhen: 'monitoring', description: 'How often Prometheus scrapes the registry metrics port.',
    default: '30s', rules: [rules.pattern('^[1-9][0-9]*(s|m)$', 'a Prometheus duration in seconds or minutes such as 15s, 30s or 1m', 8)],
  },
  monitoring_error_ratio_percent: {
    type: 'number', declaredWhen: 'monitoring', description: 'Share of requests (percent) failing with 5xx above which RegistryHighErrorRatio fires.',
    default: 5, rules: [rules.wholeNumber(1, 100)],
  },
  monitoring_slow_request_seconds: {
    type: 'number', declaredWhen: 'monitoring', description: 'p99 latency (seconds) of manifest, tag and catalog requests above which RegistrySlowRequests fires.',
    default: 2, rules: [rules.wholeNumber(1, 300)],
  },
  monitoring_read_only_limit: {
    type: 'string', declaredWhen: 'monitoring', description: 'How long pushes may be refused as read-only (the GC window) before RegistryReadOnlyTooLong fires.',
    default: '2h', rules: [rules.pattern('^[1-9][0-9]*(m|h)$', 'a Prometheus duration in minutes or hours such as 90m or 2h', 8)],
  },
  grafana_dashboard_namespace: {
    type: 'string', declaredWhen: 'monitoring', description: "Namespace of the dashboard ConfigMap (where your Grafana sidecar looks); empty: the registry's.",
    default: '', rules: [rules.optional(rules.dns1123Label)],
  },
  otel_traces_exporter: {
    type: 'string', description: 'OTEL_TRACES_EXPORTER of the registry (distribution v3 traces with OpenTelemetry): none turns tracing off.',
    default: 'none', rules: [rules.oneOf(['none', 'otlp', 'console'])],
  },
  otel_exporter_otlp_endpoint: {
    type: 'string', description: 'OTEL_EXPORTER_OTLP_ENDPOINT: the collector traces go to with otel_traces_exporter otlp (e.g. http://otel-collector.monitoring:4318); empty: unset.',
    default: '', rules: [rules.optional(rules.pattern('^https?://[^\\s/]+(/[^\\s]*)?$', 'an http(s) URL such as http://otel-collector.monitoring:4318', 2048))],
  },

  // ---- node trust -----------------------------------------------------------------------------------------
  node_trust_namespace: {
    type: 'string', declaredWhen: 'nodeTrust',
    description: 'Namespace created for the node-trust DaemonSet (Pod Security "privileged": it mounts two host certs.d directories).',
    default: 'registry-node-trust',
    rules: ({ defaultOf }) => [
      rules.dns1123Label,
      rules.differentFrom('namespace', defaultOf('namespace'),
        "a namespace other than the registry's (namespace), which enforces a stricter Pod Security level"),
    ],
  },
  node_trust_image: {
    type: 'string', declaredWhen: 'nodeTrust',
    description: 'Image of the node-trust DaemonSet (POSIX sh + busybox), pinned by tag or digest.',
    default: 'docker.io/library/busybox:1.37.0', rules: [rules.imageReference, rules.pinnedImage],
  },

  // ---- operations: garbage collection, pull-through cache --------------------------------------------------
  gc_schedule: {
    type: 'string', declaredWhen: 'garbageCollection',
    description: 'When the garbage-collection window opens (cron, cluster time zone): pushes are refused for its length; pulls are served in it, but with one replica on host-path (Recreate) each of its two restarts is a short full outage.',
    default: '0 3 * * 0', rules: [rules.cronSchedule, rules.cronRangesInOrder],
  },
  gc_kubectl_image: {
    type: 'string', declaredWhen: 'garbageCollection',
    description: 'Image the GC job copies a static kubectl from (needs /bin/kubectl and cp, as registry.k8s.io/kubectl on debian-base has), pinned by tag or digest.',
    default: 'registry.k8s.io/kubectl:v1.33.0', rules: [rules.imageReference, rules.pinnedImage],
  },
  mirror_remote_url: {
    type: 'string', declaredWhen: 'mirror',
    description: 'Upstream registry the pull-through cache fetches from (proxy.remoteurl).',
    default: 'https://registry-1.docker.io', rules: [rules.registryUrl],
  },
  mirror_upstream_registry: {
    type: 'string', declaredWhen: 'mirror',
    description: 'How image references name that upstream (docker.io for Docker Hub): nodes send pulls of it to the cache.',
    default: 'docker.io', rules: [rules.registryHost],
  },
  mirror_username: {
    type: 'string', sensitive: true, perEnvironment: false, declaredWhen: 'mirror',
    description: 'Upstream user of the cache (raises rate limits); empty for anonymous pulls.',
    default: '', rules: [rules.optional(rules.credential)],
  },
  mirror_password: {
    type: 'string', sensitive: true, perEnvironment: false, declaredWhen: 'mirror',
    description: 'Upstream password or access token of the cache: a read-only token for public content (the cache serves anyone it admits).',
    default: '', rules: [rules.optional(rules.credential), rules.bothOrNeither('mirror_username', '')],
  },
  mirror_ttl: {
    type: 'string', declaredWhen: 'mirror',
    description: 'How long the cache keeps content after its last pull (proxy.ttl; 0: forever).',
    default: '168h', rules: [rules.ttlDuration],
  },
  mirror_external_port: {
    type: 'number', declaredWhen: 'mirror',
    description: 'Port of the pull-through cache on the registry names (a second TCP route on ingress-nginx; a second Gateway listener port).',
    default: 5001,
    rules: (context) => [rules.tcpPort, ...context.exposure.addedRules('mirror_external_port', context)],
  },
  mirror_storage_size: {
    type: 'string', declaredWhen: 'mirror',
    description: 'Size of the cache claim (Kubernetes quantity); distribution does not bound the cache, the ttl does.',
    default: '20Gi', rules: [rules.positiveQuantity],
  },
  mirror_storage_class: {
    type: 'string', declaredWhen: 'mirror',
    description: "Storage class of the cache claim; empty for the cluster's default class.",
    default: '', rules: [rules.optional(rules.dns1123Subdomain)],
  },

  // ---- cluster connection ---------------------------------------------------------------------------------
  kubeconfig_path: {
    type: 'string', description: 'Kubeconfig file (workstation runs). Ignored when kube_host is set.',
    default: '~/.kube/config', rules: [rules.optional(rules.kubeconfigPath)],
  },
  kube_context: {
    type: 'string', description: 'Kubeconfig context; empty for the current context.',
    default: '', rules: [rules.optional(rules.kubeContext)],
  },
  kube_host: {
    type: 'string', description: 'API server URL (Terraform Cloud runs); empty to use the kubeconfig.',
    ...KUBE_CONNECTION, rules: [rules.optional(rules.httpsUrl)],
  },
  kube_token: {
    type: 'string', sensitive: true, description: 'Bearer token for kube_host (a ServiceAccount token).',
    ...KUBE_CONNECTION, rules: [rules.optional(rules.bearerToken)],
  },
  kube_cluster_ca_certificate: {
    type: 'string', description: "PEM of the API server's CA for kube_host (never skip verification).",
    ...KUBE_CONNECTION, rules: [rules.optional(rules.certificatePem)],
  },
} as const satisfies Record<string, VariableSpec>;

type Catalog = typeof VARIABLES;

/** Every variable name the stacks may declare. */
export type VariableName = keyof Catalog;

type ValueOfType<T extends VariableType> = T extends 'number' ? number : T extends 'string' ? string : T extends 'bool' ? boolean : readonly string[];

/** The TypeScript type of a variable's value. */
export type VariableValue<K extends VariableName> = ValueOfType<Catalog[K]['type']>;

/** Variable names of one Terraform type. */
export type VariableNameOfType<T extends VariableType> = { [K in VariableName]: Catalog[K]['type'] extends T ? K : never }[VariableName];

/** The variables an environment may give a default (not secrets, not per-run connection details). */
export type PerEnvironmentName = { [K in VariableName]: Catalog[K] extends { readonly perEnvironment: false } ? never : K }[VariableName];

/** Per-environment defaults, by variable name. */
export type EnvironmentVariables = { readonly [K in PerEnvironmentName]?: VariableValue<K> };

export const VARIABLE_NAMES = Object.keys(VARIABLES) as VariableName[];

export function isVariableName(name: string): name is VariableName {
  return Object.prototype.hasOwnProperty.call(VARIABLES, name);
}

/** The spec of a variable, widened for code that walks the catalog. */
export function specOf(name: VariableName): VariableSpec {
  return VARIABLES[name];
}

export function mayBeSetPerEnvironment(name: VariableName): name is PerEnvironmentName {
  return specOf(name).perEnvironment !== false;
}
