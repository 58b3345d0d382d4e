/** The object-storage stacks as synthesized: registry-example-s3 (keys, private CA, Redis) and s3-aws (IRSA, Redis TLS, HPA). */
import { RESTART_ANNOTATION_IGNORE } from '../../lib/registry/server';
import { parse } from 'yaml';
import { address, byPath, environment, only, resourcesOf, synth, type Synthesized } from '../../harness/synth';

let example: Synthesized;
let aws: Synthesized;

beforeAll(() => {
  example = synth(environment('example-s3')).json;
  aws = synth(environment('s3-aws')).json;
});

const deploymentOf = (json: Synthesized) => only(json, 'kubernetes_deployment_v1');
const configOf = (json: Synthesized) => parse(byPath(json, 'kubernetes_config_map_v1', 'registry/config').data['config.yml']);

describe('registry-example-s3', () => {
  test('runs 2 replicas rolling one new pod in before an old one goes, spread over nodes and zones', () => {
    const deployment = deploymentOf(example);
    expect(deployment.spec.replicas).toBe('${var.replicas}');
    expect(example.variable.replicas).toMatchObject({ default: 2, description: expect.stringContaining('from 1 to 20') });
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rolling_update: { max_surge: '1', max_unavailable: '0' } });
    const spread = deployment.spec.template.spec.topology_spread_constraint;
    expect(spread.map((c: any) => [c.topology_key, c.when_unsatisfiable, c.max_skew])).toEqual([
      ['kubernetes.io/hostname', 'ScheduleAnyway', 1], ['topology.kubernetes.io/zone', 'ScheduleAnyway', 1],
    ]);
    for (const constraint of spread) {
      expect(constraint.label_selector).toEqual([{ match_labels: deployment.spec.selector.match_labels }]);
      expect(constraint).toMatchObject({ node_taints_policy: 'Honor', node_affinity_policy: 'Honor', match_label_keys: ['pod-template-hash'] });
    }
    // without an autoscaler Terraform owns the replica count; only the restart annotation is left to kubectl
    expect(deployment.lifecycle).toEqual({ ignore_changes: [RESTART_ANNOTATION_IGNORE] });
  });

  test('keeps a PodDisruptionBudget over exactly the registry pods, one pod at a time', () => {
    const budget = only(example, 'kubernetes_pod_disruption_budget_v1');
    const deployment = deploymentOf(example);
    expect(budget.spec).toEqual({ max_unavailable: '1', selector: { match_labels: deployment.spec.selector.match_labels } });
    expect(budget.metadata.name).toBe(`\${${address(example, 'kubernetes_deployment_v1', 'registry/deployment')}.metadata[0].name}`);
    expect(resourcesOf(example, 'kubernetes_horizontal_pod_autoscaler_v2')).toEqual([]);
  });

  test('has no volume of its own: no PersistentVolume, no claim, no storage_size', () => {
    expect(resourcesOf(example, 'kubernetes_persistent_volume_v1')).toEqual([]);
    expect(resourcesOf(example, 'kubernetes_persistent_volume_claim_v1')).toEqual([]);
    expect(example.variable.storage_size).toBeUndefined();
    expect(deploymentOf(example).spec.template.spec.volume.map((v: any) => v.name)).toEqual(['config', 'tls', 'auth', 's3-ca', 'tmp', 'front-config', 'front-run']);
  });

  test('config.yml names the S3 driver and the Redis cache and holds no per-run value', () => {
    const config = configOf(example);
    expect(config.storage.s3).toEqual({ v4auth: true, skipverify: false });
    expect(config.storage.cache).toEqual({ blobdescriptor: 'redis' });
    expect(config.redis).toEqual({ dialtimeout: '2s', readtimeout: '2s', writetimeout: '2s' });
    expect(byPath(example, 'kubernetes_config_map_v1', 'registry/config').data['config.yml']).not.toContain('${');
  });

  test('rolls the pods when a credential or CA changes: a hash salted with the http secret, shown in plans', () => {
    const annotations = deploymentOf(example).spec.template.metadata.annotations;
    const httpSecret = address(example, 'random_password', 'auth/http-secret-value');
    expect(annotations['private-registry-stack/credentials-sha256']).toBe(
      `\${nonsensitive(sha256(join("\\n", [${httpSecret}.result, var.s3_access_key, var.s3_secret_key, var.s3_ca_pem, var.redis_password])))}`,
    );
  });

  test('outputs the bucket and how the registry reaches it, with no secret', () => {
    const output = example.output.object_storage;
    expect(output).toMatchObject({
      sensitive: false,
      value: {
        kind: 's3', bucket: '${var.s3_bucket}', region: '${var.s3_region}', endpoint: '${var.s3_region_endpoint}',
        root_directory: '${var.s3_root_directory}', redirect_disabled: '${var.s3_disable_redirect}', credentials: 'access-keys',
      },
    });
    expect(JSON.stringify(output)).not.toMatch(/access_key|secret_key|password|ca_pem/);
    expect(synth(environment('dev')).json.output.object_storage).toBeUndefined();
  });
});

describe('s3-aws (pod identity, Redis over TLS, an autoscaler)', () => {
  test('scales with a HorizontalPodAutoscaler between replicas and max_replicas; Terraform leaves the count to it', () => {
    const autoscaler = only(aws, 'kubernetes_horizontal_pod_autoscaler_v2');
    expect(autoscaler.spec).toMatchObject({
      min_replicas: '${var.replicas}', max_replicas: '${var.max_replicas}',
      scale_target_ref: { kind: 'Deployment', name: `\${${address(aws, 'kubernetes_deployment_v1', 'registry/deployment')}.metadata[0].name}` },
    });
    expect(deploymentOf(aws).lifecycle).toEqual({ ignore_changes: [RESTART_ANNOTATION_IGNORE, 'spec[0].replicas'] });
    expect(aws.variable.max_replicas.validation.map((v: any) => v.condition)).toContain('${var.max_replicas >= var.replicas}');
  });

  test('runs as its own ServiceAccount with no Kubernetes API token, and no S3 key anywhere', () => {
    const pod = deploymentOf(aws).spec.template.spec;
    expect(pod.service_account_name).toBe(`\${${address(aws, 'kubernetes_service_account_v1', 'storage/service-account')}.metadata[0].name}`);
    expect(pod.automount_service_account_token).toBe(false);
    expect(aws.variable.s3_access_key).toBeUndefined();
    expect(pod.container[0].env.map((e: any) => e.name)).not.toContain('REGISTRY_STORAGE_S3_ACCESSKEY');
  });

  test('connects to Redis with TLS against the mounted CA', () => {
    expect(configOf(aws).redis.tls).toEqual({ rootcas: ['/etc/distribution/redis-ca/ca.crt'] });
    const container = deploymentOf(aws).spec.template.spec.container[0];
    expect(container.volume_mount).toContainEqual({ name: 'redis-ca', mount_path: '/etc/distribution/redis-ca', read_only: true });
  });
});

describe('other storage keeps its single pod', () => {
  test('host-path: no disruption budget, no spread, no autoscaler, Recreate', () => {
    const dev = synth(environment('dev')).json;
    for (const type of ['kubernetes_pod_disruption_budget_v1', 'kubernetes_horizontal_pod_autoscaler_v2', 'kubernetes_service_account_v1']) {
      expect(resourcesOf(dev, type)).toEqual([]);
    }
    expect(deploymentOf(dev).spec.template.spec.topology_spread_constraint).toBeUndefined();
    expect(deploymentOf(dev).spec.strategy).toEqual({ type: 'Recreate' });
  });

  test('fails when autoscaling is asked for storage one pod mounts', () => {
    expect(() => synth(environment('dev', { autoscaling: true }))).toThrow(
      /^environment dev: autoscaling: is not allowed with host-path storage; expected storage several pods share off the nodes \(Storage\.s3\(\)\)\.$/,
    );
  });

  test('fails when redis has an unknown option', () => {
    expect(() => synth(environment('example-s3', { redis: { tls: false, sentinel: true } as any }))).toThrow(
      /^environment example-s3: redis.sentinel: is not allowed; expected no other option than tls\.$/,
    );
  });
});
