/**
 * The input table both engines judge: the TypeScript rules (synth-time) and Terraform's validation blocks
 * (plan-time, the real binary). `field` is the variable whose rule must reject a bad case.
 */
import type { VariableName } from '../../lib/variables/catalog';

export interface Case {
  /** Finishes "fails when ..." / "accepts ...". */
  readonly title: string;
  /** Test environment whose stack declares the variables. */
  readonly stack: 'dev' | 'prod' | 'shared' | 'claim' | 'example-ops' | 'example-gateway' | 'gateway-attach' | 'example-s3' | 's3-aws';
  /** Values by variable name: a name that is not in the catalog does not compile. */
  readonly vars: Partial<Record<VariableName, unknown>>;
  /** For bad cases: the variable that must be named as not allowed. */
  readonly field?: VariableName;
  /**
   * Only Terraform can judge it: the value of a variable without an environment default (htpasswd_entries) is
   * part of a cross-field rule, so synth time never sees it.
   */
  readonly terraformOnly?: boolean;
}

const hex64 = 'a'.repeat(64);
const bcrypt = '$2y$10$' + 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0'; // 53 characters after the cost
const pem = (kind: string) => `-----BEGIN ${kind}-----\nMIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEBCwUAMBExDzANBgNVBAMMBnVudXNl\n-----END ${kind}-----\n`;
export const CERTIFICATE = pem('CERTIFICATE');
export const PRIVATE_KEY = pem('EC PRIVATE KEY');

/** Values a stack needs in every Terraform run (variables without a default). */
export const REQUIRED_VARS: Record<Case['stack'], Partial<Record<VariableName, unknown>>> = {
  dev: {},
  prod: {},
  claim: {},
  'example-ops': {},
  shared: { tls_certificate_pem: CERTIFICATE, tls_private_key_pem: PRIVATE_KEY, tls_ca_pem: CERTIFICATE },
  'example-gateway': {},
  'gateway-attach': {},
  'example-s3': { s3_access_key: 'AKIAIOSFODNN7EXAMPLE', s3_secret_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', s3_ca_pem: CERTIFICATE },
  's3-aws': { redis_ca_pem: CERTIFICATE },
};

const bad = (stack: Case['stack'], field: VariableName, value: unknown, title: string, extra: Partial<Case> = {}): Case =>
  ({ stack, field, vars: { [field]: value }, title, ...extra });

export const BAD_CASES: readonly Case[] = [
  bad('dev', 'namespace', 'Registry', 'the namespace has capital letters'),
  bad('dev', 'namespace', '-registry', 'the namespace starts with a dash'),
  bad('dev', 'namespace', 'r'.repeat(64), 'the namespace is longer than 63 characters'),
  bad('dev', 'app_name', 'registry_1', 'the app name has an underscore'),
  bad('dev', 'registry_domains', [], 'no registry domain is given'),
  bad('dev', 'registry_domains', ['https://registry.example.com'], 'a domain carries a scheme'),
  bad('dev', 'registry_domains', ['registry.example.com:5000'], 'a domain carries a port'),
  bad('dev', 'registry_domains', ['Registry.Example.com'], 'a domain has capital letters'),
  bad('dev', 'registry_domains', ['a.example.com', 'a.example.com'], 'a domain is repeated'),
  bad('dev', 'registry_domains', ['a.example.com', null], 'a domain is null'),
  bad('dev', 'registry_domains', [`${'l'.repeat(64)}.example.com`], 'a domain label is longer than 63 characters'),
  bad('dev', 'registry_ip_addresses', ['256.1.1.1'], 'an IPv4 octet is above 255'),
  bad('dev', 'registry_ip_addresses', ['010.1.2.3'], 'an IPv4 octet has a leading zero'),
  bad('dev', 'registry_ip_addresses', ['fe80::1%eth0'], 'an IPv6 address carries a zone'),
  bad('dev', 'registry_ip_addresses', ['192.0.2.0/24'], 'an address carries a prefix length'),
  bad('dev', 'registry_image', 'registry', 'the image has no tag'),
  bad('dev', 'registry_image', 'registry:latest', 'the image tag is latest'),
  bad('dev', 'registry_image', 'registry:3 ', 'the image reference ends with a space'),
  bad('dev', 'registry_image', 'Registry:3', 'the image repository has capital letters'),
  bad('dev', 'replicas', 2, 'replicas is 2 on ReadWriteOnce storage'),
  bad('dev', 'replicas', 0, 'replicas is 0'),
  bad('dev', 'storage_size', '20GB', "the storage size uses 'GB'"),
  bad('dev', 'storage_size', '0Gi', 'the storage size is zero'),
  bad('dev', 'memory_limit', '1 Gi', 'the memory limit has a space'),
  bad('dev', 'cpu_request', '-1', 'the cpu request is negative'),
  bad('dev', 'registry_users', ['admin:x'], "a user name contains ':'"),
  bad('dev', 'registry_users', ['admin', 'admin'], 'a user is repeated'),
  bad('dev', 'registry_users', [], 'there are no users and no htpasswd entries'),
  bad('dev', 'htpasswd_entries', ['admin:$apr1$abcdefgh$0123456789abcdefghijkl'], 'an htpasswd entry is MD5, not bcrypt'),
  bad('dev', 'htpasswd_entries', ['admin:secret-in-plain-text'], 'an htpasswd entry is a plain password'),
  bad('dev', 'cert_validity_hours', 12, 'the certificate validity is below 24 hours'),
  bad('dev', 'cert_validity_hours', 100.5, 'the certificate validity is not a whole number'),
  bad('dev', 'cert_early_renewal_hours', 8760, 'early renewal equals the validity'),
  {
    stack: 'dev', field: 'cert_early_renewal_hours', title: 'early renewal exceeds a shortened validity',
    vars: { cert_validity_hours: 48, cert_early_renewal_hours: 72 },
  },
  bad('dev', 'cert_early_renewal_hours', -1, 'early renewal is negative'),
  bad('dev', 'external_port', 443, 'the external port is 443, reserved by ingress-nginx'),
  bad('dev', 'external_port', 10246, 'the external port is 10246, reserved by ingress-nginx'),
  bad('dev', 'external_port', 70000, 'the external port is above 65535'),
  bad('dev', 'external_port', 8443, "the external port is 8443, the controller's admission webhook"),
  {
    stack: 'dev', field: 'memory_request', title: 'the memory request is above the memory limit',
    vars: { memory_request: '1Gi', memory_limit: '512Mi' },
  },
  {
    stack: 'dev', field: 'memory_request', title: 'the memory request (decimal) is above the memory limit (binary)',
    vars: { memory_request: '600M', memory_limit: '512Mi' },
  },
  bad('dev', 'registry_users', ['admin'], 'a generated user also has a line in htpasswd_entries', {
    vars: { registry_users: ['admin'], htpasswd_entries: [`admin:${bcrypt}`] }, terraformOnly: true,
  }),
  bad('dev', 'htpasswd_entries', [`ci:${bcrypt}`, `registry-pull:${bcrypt}`], 'an htpasswd line is for the pull-secret user'),
  bad('dev', 'htpasswd_entries', [`ci:${bcrypt}`, 'ops:secret-in-plain-text'], 'the second htpasswd line is a plain password'),
  bad('dev', 'registry_users', ['admin', 'registry-pull'], 'registry_users names the pull-secret user'),
  bad('dev', 'node_trust_namespace', 'registry', "the node-trust namespace is the registry's own"),
  bad('dev', 'ingress_namespace', 'Ingress_Nginx', 'the ingress namespace is not a DNS label'),
  bad('dev', 'ingress_chart_version', 'v4.15.1', 'the chart version has a leading v'),
  bad('dev', 'ingress_chart_version', '~4.15', 'the chart version is a range'),
  bad('dev', 'host_path', 'var/lib/registry', 'the host path is relative'),
  bad('dev', 'host_path', '/var/lib/../etc', "the host path has a '..' segment"),
  bad('dev', 'host_path', '/', "the host path is '/'"),
  bad('dev', 'node_name', 'Worker 1', 'the node name has a space'),
  bad('dev', 'kube_host', 'http://203.0.113.5:6443', 'the API server URL is plain http'),
  bad('dev', 'kube_token', 'eyJhbGciOi.payload.signature\n', 'the token ends with a newline'),
  bad('dev', 'kube_cluster_ca_certificate', 'not a pem', 'the cluster CA is not PEM'),
  bad('dev', 'kube_context', 'my context', 'the kube context has a space'),
  bad('dev', 'kubeconfig_path', '/home/me/.kube/', 'the kubeconfig path is a directory'),
  bad('dev', 'allowed_client_namespaces', ['CI'], 'an allowed client namespace has capital letters'),
  bad('dev', 'allowed_client_namespaces', ['ci', 'ci'], 'an allowed client namespace is repeated'),
  bad('dev', 'monitoring_namespace', 'monitoring ns', 'the monitoring namespace has a space'),
  bad('prod', 'replicas', 3, 'replicas is 3 on the prod hostPath volume'),
  bad('prod', 'ingress_release_name', 'Ingress.Nginx', 'the release name is not a DNS label'),
  bad('shared', 'replicas', 11, 'replicas is above 10 on shared storage'),
  bad('shared', 'storage_class', 'Fast_SSD', 'the storage class has an underscore'),
  bad('shared', 'tcp_services_configmap', 'tcp services', 'the tcp-services ConfigMap name has a space'),
  bad('shared', 'tls_private_key_pem', PRIVATE_KEY.replace(/EC PRIVATE KEY/g, 'ENCRYPTED PRIVATE KEY'), 'the private key is encrypted'),
  bad('shared', 'tls_certificate_pem', 'hello', 'the certificate is not PEM'),
  bad('shared', 'tls_ca_pem', `${CERTIFICATE}trailing garbage`, 'the CA PEM has text after the block'),
  bad('claim', 'existing_claim', '', 'the existing claim is empty'),
  bad('claim', 'allowed_client_cidrs', ['203.0.113.0/33'], 'a client network has a prefix longer than 32'),
  bad('claim', 'allowed_client_cidrs', ['203.0.113.7'], 'a client network has no prefix length'),
  bad('claim', 'allowed_client_cidrs', ['010.0.0.0/8'], 'a client network has a leading zero'),
  bad('example-ops', 'gc_schedule', 'every sunday', 'the GC schedule is not cron'),
  bad('example-ops', 'gc_schedule', '0 3 * *', 'the GC schedule has four fields'),
  bad('example-ops', 'gc_kubectl_image', 'registry.k8s.io/kubectl:latest', 'the kubectl image is latest'),
  bad('example-ops', 'mirror_remote_url', 'http://registry-1.docker.io', 'the upstream URL is plain http'),
  bad('example-ops', 'mirror_remote_url', 'https://registry-1.docker.io/v2/', 'the upstream URL has a path'),
  bad('example-ops', 'mirror_upstream_registry', 'https://docker.io', 'the upstream registry name has a scheme'),
  bad('example-ops', 'mirror_upstream_registry', 'Docker.io', 'the upstream registry name has capital letters'),
  bad('example-ops', 'mirror_ttl', '7d', "the cache ttl uses days ('d' is not a Go duration unit)"),
  bad('example-ops', 'mirror_external_port', 5000, "the cache port is the registry's own"),
  bad('example-ops', 'mirror_external_port', 443, 'the cache port is 443, reserved by ingress-nginx'),
  bad('example-ops', 'mirror_storage_size', '0Gi', 'the cache size is zero'),
  bad('example-ops', 'mirror_storage_class', 'Fast_SSD', 'the cache storage class has an underscore'),
  bad('example-ops', 'mirror_username', 'robot user', 'the upstream user has a space'),
  bad('example-ops', 'mirror_password', 'dckr_pat_secret', 'an upstream password is set without a user'),
  {
    stack: 'example-ops', field: 'mirror_password', title: 'an upstream user is set without a password', terraformOnly: true,
    vars: { mirror_username: 'robot', mirror_password: '' },
  },
  bad('example-ops', 'mirror_password', 'dckr pat\n', 'the upstream password has a space and a newline', { vars: { mirror_username: 'robot', mirror_password: 'dckr pat\n' } }),
  bad('example-gateway', 'registry_domains', ['registry.example.internal', '10.0.0.1'], 'a registry domain is an IP behind a Gateway (hostnames cannot be IPs)'),
  bad('gateway-attach', 'registry_domains', ['registry.123'], 'a registry domain behind a Gateway ends in a numeric label'),
  bad('example-gateway', 'registry_domains', Array.from({ length: 65 }, (_, i) => `r${i}.example.com`), 'a created Gateway would need more than 64 listeners'),
  bad('gateway-attach', 'registry_ip_addresses', ['192.0.2.10'], 'registry IP addresses are listed behind a Gateway (no SNI to route by)'),
  bad('example-gateway', 'gateway_port', 0, 'the Gateway listener port is 0'),
  bad('gateway-attach', 'gateway_port', 65536, 'the Gateway listener port is above 65535'),
  bad('gateway-attach', 'gateway_name', 'Shared_Gateway', 'the Gateway name is not a DNS subdomain'),
  bad('example-gateway', 'gateway_namespace', 'gateway.system', 'the Gateway namespace is not a DNS label'),
  bad('gateway-attach', 'gateway_section_name', 'Registry TLS', 'the listener (sectionName) has capitals and a space'),
  bad('example-gateway', 'gateway_class_name', '', 'the GatewayClass name is empty'),
  bad('example-gateway', 'gateway_proxy_namespace', 'Envoy', 'the data-plane namespace has capitals'),
  bad('gateway-attach', 'gateway_proxy_pod_labels', ['app'], "a data-plane pod label has no '='"),
  bad('gateway-attach', 'gateway_proxy_pod_labels', ['=envoy'], 'a data-plane pod label has no key'),
  bad('gateway-attach', 'gateway_proxy_pod_labels', ['app=envoy proxy'], 'a data-plane pod label value has a space'),
  bad('gateway-attach', 'gateway_proxy_pod_labels', ['app=envoy', 'app=proxy'], 'two data-plane pod labels have the same key'),
  bad('example-s3', 'replicas', 21, 'replicas is above 20 on object storage'),
  bad('example-s3', 'replicas', 0, 'replicas is 0 on object storage'),
  bad('example-s3', 's3_bucket', 'Registry_Images', 'the bucket name has capitals and an underscore'),
  bad('example-s3', 's3_bucket', 'ab', 'the bucket name is shorter than 3 characters'),
  bad('example-s3', 's3_region_endpoint', 's3.example.internal', 'the S3 endpoint has no scheme'),
  bad('example-s3', 's3_region_endpoint', 'https://s3.example.internal/', 'the S3 endpoint ends with a slash'),
  bad('example-s3', 's3_region', 'EU West 1', 'the region has capitals and spaces'),
  bad('s3-aws', 's3_region', 'eu-central', 'the region is not an AWS region and there is no endpoint'),
  bad('example-s3', 's3_root_directory', 'registry', 'the root directory is relative'),
  bad('example-s3', 's3_storage_class', 'GLACIER', 'the storage class is GLACIER (not instantly readable)'),
  bad('example-s3', 's3_chunk_size_mib', 4, 'the chunk size is below the 5 MiB S3 minimum'),
  bad('example-s3', 's3_multipart_copy_chunk_size_mib', 6000, 'the multipart copy chunk size is above 5 GiB'),
  bad('example-s3', 's3_multipart_copy_threshold_mib', -1, 'the multipart copy threshold is negative'),
  bad('example-s3', 's3_multipart_copy_max_concurrency', 0, 'the multipart copy concurrency is 0'),
  bad('example-s3', 's3_kms_key_id', 'arn:aws:kms:eu-west-1:111122223333:key/1234', 'a KMS key is given with encryption off'),
  bad('example-s3', 's3_access_key', 'AKIA EXAMPLE', 'the access key has a space'),
  bad('example-s3', 's3_secret_key', 'wJalrXUtnFEMI/K7MDENG\n', 'the secret key ends with a newline'),
  bad('example-s3', 's3_ca_pem', 'not a certificate', 'the S3 CA is not PEM'),
  bad('s3-aws', 's3_role_arn', 'arn:aws:iam::1111:role/registry', 'the role ARN has a short account id'),
  bad('s3-aws', 's3_role_arn', 'registry', 'the role is a name, not an ARN'),
  bad('example-s3', 'redis_addresses', [], 'no Redis address is given'),
  bad('example-s3', 'redis_addresses', ['redis://redis:6379'], 'a Redis address has a scheme'),
  bad('example-s3', 'redis_addresses', ['redis.registry.svc'], 'a Redis address has no port'),
  bad('example-s3', 'redis_db', 16, 'the Redis database is above 15'),
  bad('example-s3', 'redis_password', 'secret\n', 'the Redis password ends with a newline'),
  bad('example-s3', 'redis_username', 'cache user', 'the Redis user has a space'),
  bad('s3-aws', 'redis_ca_pem', 'not a certificate', 'the Redis CA is not PEM'),
  bad('s3-aws', 'max_replicas', 21, 'max_replicas is above 20'),
  bad('s3-aws', 'max_replicas', 2, 'max_replicas is below replicas'),
  bad('s3-aws', 'autoscaling_cpu_percent', 5, 'the autoscaler CPU target is below 10%'),
];

const good = (stack: Case['stack'], vars: Case['vars'], title: string, extra: Partial<Case> = {}): Case =>
  ({ stack, vars, title, ...extra });

export const GOOD_CASES: readonly Case[] = [
  good('dev', {}, 'the dev defaults'),
  good('prod', {}, 'the prod defaults'),
  good('shared', {}, 'the shared defaults with provided PEMs'),
  good('claim', {}, 'the existing-claim defaults'),
  good('claim', { allowed_client_cidrs: ['203.0.113.0/24', '2001:db8::/32', '0.0.0.0/0'] }, 'IPv4 and IPv6 client networks'),
  good('dev', { namespace: 'registry-2', app_name: 'r2' }, 'another namespace and app name'),
  good('dev', { registry_domains: ['registry.example.com', 'registry'] }, 'a dotted domain and a single-label name'),
  good('dev', { registry_ip_addresses: ['192.0.2.10', '2001:db8::1', '::ffff:192.0.2.1'] }, 'IPv4, IPv6 and IPv4-mapped addresses'),
  good('dev', { registry_image: `registry.example.com:5000/mirror/registry@sha256:${hex64}` }, 'an image pinned by digest on a registry with a port'),
  good('dev', { storage_size: '1.5Ti', cpu_request: '0', memory_request: '64Mi', memory_limit: '2G' }, 'fractional and decimal quantities'),
  good('dev', { registry_users: [], htpasswd_entries: [`ci:${bcrypt}`] }, 'pre-hashed entries instead of generated users', { terraformOnly: true }),
  good('dev', { cert_validity_hours: 48, cert_early_renewal_hours: 24 }, 'a short validity with an earlier renewal'),
  good('dev', { external_port: 5443 }, 'an unreserved external port'),
  good('dev', {
    kube_host: 'https://203.0.113.5:6443', kube_token: 'eyJhbGciOi.payload-_.sig', kube_cluster_ca_certificate: CERTIFICATE,
    kubeconfig_path: '', kube_context: '',
  }, 'a Terraform Cloud connection by host, token and CA'),
  good('dev', { kubeconfig_path: './kubeconfig.yaml', kube_context: 'arn:aws:eks:eu-west-1:123456789012:cluster/reg' }, 'a relative kubeconfig and an EKS context'),
  good('dev', { allowed_client_namespaces: ['ci', 'build-2'], monitoring_namespace: 'monitoring' }, 'client and monitoring namespaces'),
  good('prod', { ingress_chart_version: '4.15.1-beta.1' }, 'a pre-release chart version'),
  good('dev', { memory_request: '512Mi', memory_limit: '512Mi' }, 'a memory request equal to the limit'),
  good('dev', { memory_request: '500M', memory_limit: '512Mi' }, 'a decimal memory request below a binary limit'),
  good('dev', { htpasswd_entries: [`ci:${bcrypt}`] }, 'a pre-hashed user besides the generated ones'),
  good('shared', { replicas: 3, storage_class: '' }, "3 replicas on shared storage of the cluster's default class"),
  good('example-ops', {}, 'the example-ops defaults (GC and a Docker Hub cache)'),
  good('example-ops', {
    gc_schedule: '@daily', mirror_remote_url: 'https://quay.io', mirror_upstream_registry: 'quay.io', mirror_ttl: '0',
    mirror_external_port: 5443, mirror_storage_class: 'fast-ssd', mirror_storage_size: '200Gi',
  }, 'a daily GC and a quay.io cache that never expires'),
  good('example-ops', { gc_schedule: '30 2 1-7 * 0', mirror_ttl: '72h30m' }, 'a schedule with ranges and a ttl of hours and minutes'),
  good('example-ops', { mirror_username: 'robot', mirror_password: 'dckr_pat_abc-DEF_123' }, 'upstream credentials', { terraformOnly: true }),
  good('example-gateway', {}, 'the example-gateway defaults (a Gateway created by the stack)'),
  good('gateway-attach', {}, 'the gateway-attach defaults (an existing Gateway, a named listener)'),
  good('gateway-attach', { gateway_section_name: '', gateway_proxy_namespace: '', gateway_proxy_pod_labels: [] }, 'every listener of the Gateway, its namespace, every pod there'),
  good('example-gateway', { gateway_port: 443, registry_domains: ['registry.example.com', 'registry'] }, 'a Gateway on 443 (reserved only by ingress-nginx) and a single-label name'),
  good('gateway-attach', { gateway_proxy_pod_labels: ['app.kubernetes.io/name=envoy', 'tier='] }, 'a prefixed label key and an empty label value'),
  good('example-s3', {}, 'the example-s3 defaults with keys and a CA'),
  good('s3-aws', {}, 'the s3-aws defaults (pod identity, Redis over TLS, an autoscaler)'),
  good('example-s3', {
    replicas: 20, s3_region: 'default', s3_region_endpoint: 'http://rgw.ceph.svc:7480', s3_root_directory: '',
    s3_encrypt: true, s3_kms_key_id: 'alias/registry', s3_storage_class: 'NONE', s3_chunk_size_mib: 5, s3_multipart_copy_threshold_mib: 0,
    s3_disable_redirect: true, s3_access_key: '0x1F', s3_secret_key: '#not:"a-comment"',
  }, 'an in-cluster RGW over http, encrypted with a KMS alias, 20 replicas, keys YAML would misread'),
  good('example-s3', {
    redis_addresses: ['10.0.0.5:6379', '[2001:db8::6]:6379', 'redis-0.redis:6380'], redis_db: 15, redis_username: 'registry',
    redis_password: 'p@ss word#1',
  }, 'several Redis nodes by IPv4, IPv6 and name, an ACL user and a password with spaces'),
  good('s3-aws', { replicas: 1, max_replicas: 20, autoscaling_cpu_percent: 100, s3_region: 'us-gov-west-1' }, 'an autoscaler from 1 to 20 pods in GovCloud'),
];
