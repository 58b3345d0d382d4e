/** Storage.s3() bound alone in an empty stack, and the Redis cache and availability constructs alone. */
import { Storage } from '../../lib/storage';
import { MAX_S3_REPLICAS, S3_MOUNTS } from '../../lib/storage/s3';
import { REDIS_MOUNTS, RegistryRedisCache } from '../../lib/storage/redis-cache';
import { RegistryAvailability } from '../../lib/registry/availability';
import { buildStack, environment, only, resourcesOf, synthConstruct } from '../../harness/synth';

const bindOptions = { namespace: 'registry', appName: 'registry', preventDestroy: true, image: 'registry:3.1.0' };
const s3Variables = { s3_bucket: 'registry-images' };

function bindAlone(storage: ReturnType<typeof Storage.s3>, variables: Record<string, unknown> = s3Variables) {
  const env = environment('dev', { storage, variables });
  return synthConstruct((scope, vars) => storage.bind(scope, { ...bindOptions, variables: vars }), env);
}

const envNames = (env: Array<{ name: string }> | undefined) => (env ?? []).map((e) => e.name);

describe('Storage.s3() alone', () => {
  test('access keys: a Secret with JSON-encoded keys read as env, every driver value from a variable, no volume', () => {
    // GIVEN S3 storage with the default credentials WHEN it is bound
    const { json, result, variables, resolve } = bindAlone(Storage.s3());
    // THEN the keys live in a Secret, JSON-encoded (distribution parses env overrides as YAML)
    const secret = only(json, 'kubernetes_secret_v1');
    expect(secret.metadata).toMatchObject({ name: 'registry-s3', namespace: 'registry', labels: { 'app.kubernetes.io/component': 'storage' } });
    expect(secret.data).toEqual({ accesskey: '${jsonencode(var.s3_access_key)}', secretkey: '${jsonencode(var.s3_secret_key)}' });
    const env = resolve(result.env);
    expect(env.filter((e: any) => e.valueFrom)).toEqual([
      { name: 'REGISTRY_STORAGE_S3_ACCESSKEY', valueFrom: { secretKeyRef: { name: expect.stringContaining('storage_s3-credentials'), key: 'accesskey', optional: false } } },
      { name: 'REGISTRY_STORAGE_S3_SECRETKEY', valueFrom: { secretKeyRef: { name: expect.stringContaining('storage_s3-credentials'), key: 'secretkey', optional: false } } },
    ]);
    // AND config.yml gets only the driver's constants; the values are env, strings JSON-encoded, sizes in bytes
    expect(result.driver).toEqual({ s3: { v4auth: true, skipverify: false } });
    const plain = Object.fromEntries(env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    expect(plain).toEqual({
      REGISTRY_STORAGE_S3_BUCKET: '${jsonencode(var.s3_bucket)}',
      REGISTRY_STORAGE_S3_REGION: '${jsonencode(var.s3_region)}',
      REGISTRY_STORAGE_S3_REGIONENDPOINT: '${jsonencode(var.s3_region_endpoint)}',
      REGISTRY_STORAGE_S3_FORCEPATHSTYLE: '${var.s3_region_endpoint != ""}',
      REGISTRY_STORAGE_S3_SECURE: '${!startswith(var.s3_region_endpoint, "http://")}',
      REGISTRY_STORAGE_S3_ROOTDIRECTORY: '${jsonencode(var.s3_root_directory)}',
      REGISTRY_STORAGE_S3_ENCRYPT: '${var.s3_encrypt}',
      REGISTRY_STORAGE_S3_KEYID: '${jsonencode(var.s3_kms_key_id)}',
      REGISTRY_STORAGE_S3_STORAGECLASS: '${jsonencode(var.s3_storage_class)}',
      REGISTRY_STORAGE_S3_CHUNKSIZE: '${(var.s3_chunk_size_mib * 1048576)}',
      REGISTRY_STORAGE_S3_MULTIPARTCOPYCHUNKSIZE: '${(var.s3_multipart_copy_chunk_size_mib * 1048576)}',
      REGISTRY_STORAGE_S3_MULTIPARTCOPYTHRESHOLDSIZE: '${(var.s3_multipart_copy_threshold_mib * 1048576)}',
      REGISTRY_STORAGE_S3_MULTIPARTCOPYMAXCONCURRENCY: '${var.s3_multipart_copy_max_concurrency}',
      REGISTRY_STORAGE_REDIRECT_DISABLE: '${var.s3_disable_redirect}',
    });
    expect([result.volumes, result.volumeMounts, result.initContainers, result.serviceAccountName]).toEqual([[], [], [], undefined]);
    // AND rotated keys roll the pods; nothing is sized (no storage_size), nothing else is created
    expect(resolve(result.restartOnChange)).toEqual(['${var.s3_access_key}', '${var.s3_secret_key}']);
    expect(variables.names).not.toContain('storage_size');
    expect(variables.names).toEqual(expect.arrayContaining(['s3_bucket', 's3_access_key', 's3_secret_key', 's3_disable_redirect']));
    expect(Object.keys(json.resource)).toEqual(['kubernetes_secret_v1']);
  });

  test('pod identity: a ServiceAccount without API token, an STS-only projected token and the web-identity env', () => {
    // GIVEN S3 storage by pod identity WHEN it is bound
    const { json, result, variables, resolve } = bindAlone(Storage.s3({ credentials: 'pod-identity' }),
      { ...s3Variables, s3_role_arn: 'arn:aws:iam::111122223333:role/registry' });
    // THEN no key exists anywhere; the pod runs as its own ServiceAccount, which mounts no API token
    expect(resourcesOf(json, 'kubernetes_secret_v1')).toEqual([]);
    const serviceAccount = only(json, 'kubernetes_service_account_v1');
    expect(serviceAccount).toMatchObject({ metadata: { name: 'registry', namespace: 'registry' }, automount_service_account_token: false });
    // No webhook annotation: the pod projects its token itself, so no webhook adds a second copy.
    expect(serviceAccount.metadata.annotations).toBeUndefined();
    expect(resolve(result.serviceAccountName)).toMatch(/^\$\{kubernetes_service_account_v1\.storage_service-account_[A-F0-9]+\.metadata\[0\]\.name\}$/);
    // AND the token is projected for STS only, where the SDK's web-identity provider reads it
    expect(result.volumes).toEqual([{
      name: 'aws-iam-token',
      projected: [{ sources: [{ serviceAccountToken: { audience: 'sts.amazonaws.com', expirationSeconds: 86400, path: 'token' } }] }],
    }]);
    expect(result.volumeMounts).toEqual([{ name: 'aws-iam-token', mountPath: S3_MOUNTS.webIdentityDir, readOnly: true }]);
    expect(resolve(result.env).filter((e: any) => e.name.startsWith('AWS_'))).toEqual([
      { name: 'AWS_ROLE_ARN', value: '${var.s3_role_arn}' },
      { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: `${S3_MOUNTS.webIdentityDir}/token` },
      { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
    ]);
    expect(envNames(result.env)).not.toContain('REGISTRY_STORAGE_S3_ACCESSKEY');
    expect(variables.names).toContain('s3_role_arn');
    expect(variables.names).not.toContain('s3_access_key');
    expect(result.restartOnChange).toEqual([]);
  });

  test('a private CA: a ConfigMap mounted beside the system roots through SSL_CERT_DIR, and a CA change rolls the pods', () => {
    const { json, result, resolve } = bindAlone(Storage.s3({ caBundle: true }), { ...s3Variables, s3_disable_redirect: true });
    const configMap = only(json, 'kubernetes_config_map_v1');
    expect(configMap).toMatchObject({ metadata: { name: 'registry-s3-ca' }, data: { 'ca.crt': '${var.s3_ca_pem}' } });
    expect(resolve(result.volumes)).toEqual([{
      name: 's3-ca',
      configMap: { name: expect.stringContaining('storage_s3-ca'), optional: false, items: [{ key: 'ca.crt', path: 'ca.crt' }] },
    }]);
    expect(result.volumeMounts).toEqual([{ name: 's3-ca', mountPath: S3_MOUNTS.caDir, readOnly: true }]);
    expect(result.env).toContainEqual({ name: 'SSL_CERT_DIR', value: `${S3_MOUNTS.caDir}:/etc/ssl/certs` });
    // AWS_CA_BUNDLE would replace the roots of the S3 client only (and 2.8's driver cannot load it).
    expect(envNames(result.env)).not.toContain('AWS_CA_BUNDLE');
    expect(resolve(result.restartOnChange)).toContain('${var.s3_ca_pem}');
  });

  test('several replicas: up to 20, a rolling update that never removes a pod first, spread, no volume size', () => {
    const s3 = Storage.s3();
    expect([s3.maxReplicas, s3.spreadsReplicas, s3.sizesVolume, s3.podSecurityLevel]).toEqual([MAX_S3_REPLICAS, true, false, 'restricted']);
    expect(s3.rolloutStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '1', maxUnavailable: '0' } });
    expect(s3.replicaRules.map((r) => [r.allowed, r.test(20), r.test(21)])).toEqual([['a whole number from 1 to 20', true, false]]);
    // Host-path stays one pod on one node.
    expect([Storage.hostPath().maxReplicas, Storage.hostPath().spreadsReplicas]).toEqual([1, false]);
  });

  test.each<[string, ReturnType<typeof Storage.s3>, RegExp]>([
    ['the credentials are unknown', Storage.s3({ credentials: 'instance-profile' as any }),
      /^environment dev: storage.credentials: "instance-profile" is not allowed; expected one of "access-keys", "pod-identity"\.$/],
    ['caBundle is not a boolean', Storage.s3({ caBundle: 'yes' as any }), /^environment dev: storage.caBundle: "yes" is not allowed; expected true or false\.$/],
    ['an option of claim storage is given', Storage.s3({ accessMode: 'ReadWriteMany' } as any),
      /^environment dev: storage.accessMode: "ReadWriteMany" is not allowed; expected no such option for Storage.s3\(\); its options are credentials, caBundle\.$/],
  ])('fails when %s', (_, storage, message) => {
    // The stack validates its environment's strategy before anything is built.
    expect(() => buildStack(environment('dev', { storage, variables: s3Variables }))).toThrow(message);
  });

  test('fails when the bucket name is not an S3 bucket name (checked as the variable is declared)', () => {
    expect(() => bindAlone(Storage.s3(), { s3_bucket: 'My_Bucket' })).toThrow(/^environment dev: variables\.s3_bucket: "My_Bucket" is not allowed; expected an S3 bucket name/);
  });
});

describe('RegistryRedisCache alone', () => {
  const props = { namespace: 'registry', appName: 'registry', addresses: ['redis:6379'], username: '', password: 'pw', db: 0 };

  test('the password in a Secret read as env, addresses, user and database as JSON-encoded env, no TLS', () => {
    const { json, result, resolve } = synthConstruct((scope) => new RegistryRedisCache(scope, 'redis', props));
    expect(only(json, 'kubernetes_secret_v1')).toMatchObject({
      metadata: { name: 'registry-redis', labels: { 'app.kubernetes.io/component': 'cache' } },
      data: { password: '${jsonencode("pw")}' },
    });
    expect(resolve(result.env)).toEqual([
      { name: 'REGISTRY_REDIS_ADDRS', value: '${jsonencode(["redis:6379"])}' },
      { name: 'REGISTRY_REDIS_USERNAME', value: '${jsonencode("")}' },
      { name: 'REGISTRY_REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: expect.stringContaining('redis_password'), key: 'password', optional: false } } },
      { name: 'REGISTRY_REDIS_DB', value: '0' },
    ]);
    expect(result.config).toEqual({ dialtimeout: '2s', readtimeout: '2s', writetimeout: '2s' });
    expect([result.volumes, result.volumeMounts, result.caConfigMap]).toEqual([[], [], undefined]);
    expect(result.restartOnChange).toEqual(['pw']);
  });

  test('with a CA: TLS on through redis.tls.rootcas, the CA mounted from a ConfigMap', () => {
    const { json, result } = synthConstruct((scope) => new RegistryRedisCache(scope, 'redis', { ...props, caPem: 'PEM' }));
    expect(only(json, 'kubernetes_config_map_v1')).toMatchObject({ metadata: { name: 'registry-redis-ca' }, data: { 'ca.crt': 'PEM' } });
    expect(result.config).toMatchObject({ tls: { rootcas: [`${REDIS_MOUNTS.caDir}/ca.crt`] } });
    expect(result.volumeMounts).toEqual([{ name: 'redis-ca', mountPath: REDIS_MOUNTS.caDir, readOnly: true }]);
    expect(result.restartOnChange).toEqual(['pw', 'PEM']);
  });
});

describe('RegistryAvailability alone', () => {
  const props = { namespace: 'registry', name: 'registry', podSelector: { 'app.kubernetes.io/name': 'registry' } };

  test('a PodDisruptionBudget letting one pod go at a time, and no autoscaler unless asked', () => {
    const { json } = synthConstruct((scope) => new RegistryAvailability(scope, 'availability', props));
    expect(only(json, 'kubernetes_pod_disruption_budget_v1').spec).toEqual({
      max_unavailable: '1', selector: { match_labels: { 'app.kubernetes.io/name': 'registry' } },
    });
    expect(resourcesOf(json, 'kubernetes_horizontal_pod_autoscaler_v2')).toEqual([]);
  });

  test('with autoscaling: an autoscaler on the Deployment between the bounds, on CPU utilization', () => {
    const { json } = synthConstruct((scope) => new RegistryAvailability(scope, 'availability', {
      ...props, autoscaling: { minReplicas: 2, maxReplicas: 6, cpuPercent: 75 },
    }));
    expect(only(json, 'kubernetes_horizontal_pod_autoscaler_v2').spec).toEqual({
      min_replicas: 2,
      max_replicas: 6,
      scale_target_ref: { api_version: 'apps/v1', kind: 'Deployment', name: 'registry' },
      metric: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', average_utilization: 75 } } }],
    });
  });
});
