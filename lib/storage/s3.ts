import { Construct } from 'constructs';
import { Fn, Op, Token } from 'cdktf';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import type { DeploymentV1SpecTemplateSpecContainerEnv } from '@cdktf/provider-kubernetes/lib/deployment-v1';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { ServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/service-account-v1';
import { isSet, notPlainHttp } from '../hcl';
import { componentLabels } from '../labels';
import * as rules from '../rules';
import type { StackVariables } from '../variables/stack-variables';
import { type RolloutStrategy, type SettingCheck, type StorageBindOptions, type StorageBinding, type StorageVariable, StorageStrategy } from './strategy';

/** How the registry authenticates to the bucket. */
export type S3Credentials = 'access-keys' | 'pod-identity';
export const S3_CREDENTIALS: readonly S3Credentials[] = ['access-keys', 'pod-identity'];

/** The most registry pods one S3 environment runs: a bound that catches a typo (20 for 2), not a limit of S3. */
export const MAX_S3_REPLICAS = 20;

/** Where the pod mounts what object storage needs. */
export const S3_MOUNTS = {
  /** The private endpoint's CA (`ca.crt`), one of the directories in SSL_CERT_DIR. */
  caDir: '/etc/distribution/s3-ca',
  /** The projected ServiceAccount token for STS (where EKS's webhook would put it, so tools find it there). */
  webIdentityDir: '/var/run/secrets/eks.amazonaws.com/serviceaccount',
} as const;

/** The image's own CA directory (Alpine's ca-certificates), kept in SSL_CERT_DIR beside the private CA. */
export const SYSTEM_CERT_DIR = '/etc/ssl/certs';

/** Audience of the token IAM's AssumeRoleWithWebIdentity accepts. */
export const STS_AUDIENCE = 'sts.amazonaws.com';

const MiB = 1024 * 1024;

export interface S3StorageOptions {
  /**
   * How the registry authenticates to the bucket:
   * - `access-keys`: variables `s3_access_key` and `s3_secret_key`, kept in a Secret and passed as env;
   * - `pod-identity`: no keys in the stack; the pods run as their own ServiceAccount and exchange its token (audience
   *   sts.amazonaws.com, projected by the pod itself) for the IAM role `s3_role_arn` (IRSA web identity).
   * @default "access-keys"
   */
  readonly credentials?: S3Credentials;
  /**
   * Trust a private CA for the endpoint (variable `s3_ca_pem`), instead of ever skipping verification: the CA is
   * mounted and added to the registry's trusted roots with SSL_CERT_DIR (the public roots stay trusted).
   * @default false
   */
  readonly caBundle?: boolean;
}

/** What one part of the S3 binding (credentials, CA) adds to the pod. */
type PodParts = Required<Pick<StorageBinding, 'env' | 'volumes' | 'volumeMounts' | 'restartOnChange'>> & Pick<StorageBinding, 'serviceAccountName'>;

/** An env entry with a plain value. */
const env = (name: string, value: string): DeploymentV1SpecTemplateSpecContainerEnv => ({ name, value });

/**
 * Object storage through distribution's S3 driver (AWS S3 or an S3-compatible store: Ceph RGW, MinIO, ...). Nothing
 * lives on a node, so several pods serve at once: a rolling update that never takes one away before its successor
 * is ready, spread over nodes, with a PodDisruptionBudget. The bucket is the operator's: the stack neither creates
 * nor deletes it, so `cdktf destroy` leaves every image in place.
 *
 * config.yml names the driver and its constants; every value an operator tunes arrives as a REGISTRY_STORAGE_S3_*
 * env var (a changed value changes the pod template and rolls the pods). Strings are JSON-encoded: distribution
 * parses each override as YAML, and a JSON string is a YAML string whatever it holds (`#`, `: `, `0x1F`, `null`).
 */
export class S3Storage extends StorageStrategy {
  readonly kind = 's3';
  readonly credentials: S3Credentials;
  readonly caBundle: boolean;
  readonly maxReplicas = MAX_S3_REPLICAS;
  readonly rolloutStrategy: RolloutStrategy = {
    type: 'RollingUpdate',
    // A new pod is ready before an old one goes: no moment with fewer serving pods than `replicas`.
    rollingUpdate: { maxSurge: '1', maxUnavailable: '0' },
  };
  readonly replicasDescription = `Registry pods (object storage: from 1 to ${MAX_S3_REPLICAS}; 2 or more for a rollout or a node drain without downtime).`;
  readonly replicaRules: readonly rules.Rule[] = [rules.wholeNumber(1, MAX_S3_REPLICAS)];

  constructor(private readonly options: S3StorageOptions = {}) {
    super();
    this.credentials = options.credentials ?? 'access-keys';
    this.caBundle = options.caBundle ?? false;
  }

  override get spreadsReplicas(): boolean {
    return true;
  }

  override get sizesVolume(): boolean {
    return false;
  }

  validate(check: SettingCheck): void {
    this.validateOptionNames(check, 'Storage.s3()', this.options, ['credentials', 'caBundle']);
    check('storage.credentials', this.credentials, [rules.oneOf(S3_CREDENTIALS)]);
    check('storage.caBundle', this.caBundle, [rules.boolean]);
  }

  /**
   * A private CA is trusted by the registry only: a blob GET redirected (307) to the store would take clients and
   * nodes to a certificate they do not trust, so the registry streams blobs itself.
   */
  override addedRules(variable: StorageVariable): readonly rules.Rule[] {
    if (variable === 's3_disable_redirect' && this.caBundle) {
      return [rules.mustBeTrue("with Storage.s3({ caBundle: true }): clients and nodes do not trust the store's private CA, so a redirect to it fails")];
    }
    return [];
  }

  bind(scope: Construct, options: StorageBindOptions): StorageBinding {
    const storage = new Construct(scope, 'storage');
    const vars = options.variables;
    const credentials = this.credentials === 'access-keys'
      ? this.accessKeys(storage, options)
      : this.podIdentity(storage, options);
    const ca = this.caBundle ? this.privateCa(storage, options) : undefined;
    return {
      driver: { s3: { v4auth: true, skipverify: false } },
      env: [...driverEnv(vars), ...credentials.env, ...(ca?.env ?? [])],
      volumes: [...credentials.volumes, ...(ca?.volumes ?? [])],
      volumeMounts: [...credentials.volumeMounts, ...(ca?.volumeMounts ?? [])],
      initContainers: [],
      restartOnChange: [...credentials.restartOnChange, ...(ca?.restartOnChange ?? [])],
      serviceAccountName: credentials.serviceAccountName,
      description: {
        kind: this.kind,
        bucket: vars.string('s3_bucket'),
        region: vars.string('s3_region'),
        endpoint: vars.string('s3_region_endpoint'),
        root_directory: vars.string('s3_root_directory'),
        redirect_disabled: vars.bool('s3_disable_redirect'),
        credentials: this.credentials,
      },
    };
  }

  /** Static keys: a Secret `<app>-s3` (JSON-encoded values, see the class comment) read as env. */
  private accessKeys(scope: Construct, options: StorageBindOptions): PodParts {
    const accessKey = options.variables.string('s3_access_key');
    const secretKey = options.variables.string('s3_secret_key');
    const secret = new SecretV1(scope, 's3-credentials', {
      metadata: { name: `${options.appName}-s3`, namespace: options.namespace, labels: componentLabels('storage') },
      data: { accesskey: Fn.jsonencode(accessKey), secretkey: Fn.jsonencode(secretKey) },
    });
    const fromSecret = (name: string, key: string): DeploymentV1SpecTemplateSpecContainerEnv => ({
      name, valueFrom: { secretKeyRef: { name: secret.metadata.name, key, optional: false } },
    });
    return {
      env: [fromSecret('REGISTRY_STORAGE_S3_ACCESSKEY', 'accesskey'), fromSecret('REGISTRY_STORAGE_S3_SECRETKEY', 'secretkey')],
      volumes: [],
      volumeMounts: [],
      // The registry reads the keys once, at start: rotated keys must roll the pods.
      restartOnChange: [accessKey, secretKey],
    };
  }

  /**
   * IRSA without the mutating webhook: a ServiceAccount for the pods (the token's subject the role's trust policy
   * names), a token projected for STS only, and the two variables the SDK's web-identity provider reads. The pod's
   * Kubernetes API token stays unmounted (the registry never calls the API), and no webhook annotation is set, so no
   * webhook adds a second copy of the same volume.
   */
  private podIdentity(scope: Construct, options: StorageBindOptions): PodParts {
    const serviceAccount = new ServiceAccountV1(scope, 'service-account', {
      metadata: { name: options.appName, namespace: options.namespace, labels: componentLabels('storage') },
      automountServiceAccountToken: false,
    });
    return {
      env: [
        env('AWS_ROLE_ARN', options.variables.string('s3_role_arn')),
        env('AWS_WEB_IDENTITY_TOKEN_FILE', `${S3_MOUNTS.webIdentityDir}/token`),
        // STS in the bucket's region rather than the global endpoint in us-east-1.
        env('AWS_STS_REGIONAL_ENDPOINTS', 'regional'),
      ],
      volumes: [{
        name: 'aws-iam-token',
        projected: [{
          // Refreshed by the kubelet before it expires; the SDK re-reads the file for every new credential.
          sources: [{ serviceAccountToken: { audience: STS_AUDIENCE, expirationSeconds: 86400, path: 'token' } }],
        }],
      }],
      volumeMounts: [{ name: 'aws-iam-token', mountPath: S3_MOUNTS.webIdentityDir, readOnly: true }],
      restartOnChange: [],
      serviceAccountName: serviceAccount.metadata.name,
    };
  }

  /** The private endpoint's CA: a ConfigMap (a CA is public) mounted beside the image's roots. */
  private privateCa(scope: Construct, options: StorageBindOptions): PodParts {
    const caPem = options.variables.string('s3_ca_pem');
    const configMap = new ConfigMapV1(scope, 's3-ca', {
      metadata: { name: `${options.appName}-s3-ca`, namespace: options.namespace, labels: componentLabels('storage') },
      data: { 'ca.crt': caPem },
    });
    return {
      // Go reads SSL_CERT_DIR (every file in each directory) on top of the system bundle, for every TLS client in the
      // process; AWS_CA_BUNDLE would replace the roots for the S3 client only, and the 2.8 driver cannot load it.
      env: [env('SSL_CERT_DIR', `${S3_MOUNTS.caDir}:${SYSTEM_CERT_DIR}`)],
      volumes: [{ name: 's3-ca', configMap: { name: configMap.metadata.name, optional: false, items: [{ key: 'ca.crt', path: 'ca.crt' }] } }],
      volumeMounts: [{ name: 's3-ca', mountPath: S3_MOUNTS.caDir, readOnly: true }],
      // Go loads the roots once per process.
      restartOnChange: [caPem],
    };
  }
}

/** The driver's per-run values as REGISTRY_STORAGE_* overrides (sizes in bytes, strings JSON-encoded). */
function driverEnv(vars: StackVariables): DeploymentV1SpecTemplateSpecContainerEnv[] {
  const text = (name: Parameters<StackVariables['string']>[0]) => Fn.jsonencode(vars.string(name));
  const bytes = (name: Parameters<StackVariables['number']>[0]) => Token.asString(Op.mul(vars.number(name), MiB));
  const s3 = (key: string, value: string) => env(`REGISTRY_STORAGE_S3_${key}`, value);
  return [
    s3('BUCKET', text('s3_bucket')),
    s3('REGION', text('s3_region')),
    s3('REGIONENDPOINT', text('s3_region_endpoint')),
    // distribution v3 addresses buckets virtual-host style unless told; S3-compatible endpoints need path style.
    s3('FORCEPATHSTYLE', isSet('s3_region_endpoint')),
    s3('SECURE', notPlainHttp('s3_region_endpoint')),
    s3('ROOTDIRECTORY', text('s3_root_directory')),
    s3('ENCRYPT', Token.asString(vars.bool('s3_encrypt'))),
    s3('KEYID', text('s3_kms_key_id')),
    s3('STORAGECLASS', text('s3_storage_class')),
    s3('CHUNKSIZE', bytes('s3_chunk_size_mib')),
    s3('MULTIPARTCOPYCHUNKSIZE', bytes('s3_multipart_copy_chunk_size_mib')),
    s3('MULTIPARTCOPYTHRESHOLDSIZE', bytes('s3_multipart_copy_threshold_mib')),
    s3('MULTIPARTCOPYMAXCONCURRENCY', Token.asString(vars.number('s3_multipart_copy_max_concurrency'))),
    env('REGISTRY_STORAGE_REDIRECT_DISABLE', Token.asString(vars.bool('s3_disable_redirect'))),
  ];
}
