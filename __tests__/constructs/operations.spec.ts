/** The operations constructs alone, and the environment checks of the options that add them. */
import { RegistryGarbageCollection } from '../../lib/operations/garbage-collection';
import { closeWindowSeconds, renderGcScript } from '../../lib/operations/gc-script';
import { RESTART_ANNOTATION_IGNORE } from '../../lib/registry/server';
import { Exposure } from '../../lib/exposure';
import { Storage } from '../../lib/storage';
import { environment, only, resourcesOf, synth, synthConstruct } from '../../harness/synth';
import { templateLiteral } from '../../harness/json';

const storage = {
  driver: { filesystem: { rootdirectory: '/var/lib/registry' } },
  volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'registry-data' } }],
  volumeMounts: [{ name: 'data', mountPath: '/var/lib/registry' }],
  initContainers: [],
};
const props = {
  namespace: 'registry', deploymentName: 'registry', podSelector: { 'app.kubernetes.io/name': 'registry' },
  image: 'registry:3.1.0', configMapName: 'registry', storage, kubectlImage: 'registry.k8s.io/kubectl:v1.33.0', schedule: '0 3 * * 0',
};

describe('RegistryGarbageCollection alone', () => {
  test('a weekly CronJob, one window at a time, a Role limited to the ConfigMap and Deployment by name', () => {
    // GIVEN the construct with its defaults WHEN it is synthesized
    const { json, result } = synthConstruct((scope) => new RegistryGarbageCollection(scope, 'gc', props));
    // THEN the CronJob never overlaps, never retries at once, and leaves room for the exit trap
    const cronJob = only(json, 'kubernetes_cron_job_v1');
    expect(cronJob.spec).toMatchObject({ schedule: '0 3 * * 0', concurrency_policy: 'Forbid' });
    expect(cronJob.spec.job_template.spec).toMatchObject({ backoff_limit: 0, active_deadline_seconds: 21600 });
    const pod = cronJob.spec.job_template.spec.template.spec;
    // the exit trap's worst case (stop GC, switch back, one restart) fits in the grace period, with a minute spare
    expect(closeWindowSeconds()).toBe(380);
    expect(pod.termination_grace_period_seconds).toBe(closeWindowSeconds() + 60);
    expect(result.script).toMatch(/^CLOSE_SECONDS=\$\(\( 380 - 20 \)\)$/m);
    // a window older than the Job's deadline plus its grace period is over for sure: the next one reopens it
    expect(result.script).toContain(`WINDOW_SECONDS=${21600 + 440 + 60}`);
    // Guaranteed memory for the collector: an OOM kill takes the whole container, trap included
    expect(pod.container[0].resources).toEqual({ requests: { cpu: '50m', memory: '1Gi' }, limits: { memory: '1Gi' } });
    // the window's owner is the pod's own name
    expect(pod.container[0].env).toContainEqual({ name: 'POD_NAME', value_from: { field_ref: { field_path: 'metadata.name' } } });
    expect(pod.container[0].command.map(templateLiteral)).toEqual(['/bin/sh', '-c', result.script, 'registry-gc']);
    expect(result.script).toContain("GC_ARGS='garbage-collect'");
    // AND the ConfigMap starts read-write and Terraform never flips it back
    expect(only(json, 'kubernetes_config_map_v1')).toMatchObject({
      data: { REGISTRY_STORAGE_MAINTENANCE_READONLY: '{enabled: false}', GC_WINDOW_OWNER: '' }, lifecycle: { ignore_changes: ['data'] },
    });
    expect(only(json, 'kubernetes_role_v1').rule.map((r: any) => `${r.resources}:${r.verbs}:${r.resource_names ?? '*'}`)).toEqual([
      expect.stringMatching(/^configmaps:get,patch:\$\{kubernetes_config_map_v1\.gc_maintenance_[A-F0-9]+\.metadata\[0\]\.name\}$/),
      'deployments:get,patch:registry',
      'pods:list:*',
    ]);
    expect(only(json, 'kubernetes_service_account_v1').automount_service_account_token).toBe(false);
  });

  test('deleteUntagged adds --delete-untagged; nothing else does', () => {
    expect(renderGcScript({ deleteUntagged: true })).toContain("GC_ARGS='garbage-collect --delete-untagged'");
    expect(renderGcScript()).not.toContain('--delete-untagged\'');
  });

  test.each([
    ['the schedule is not cron', { schedule: 'weekly' }, /^schedule: "weekly" is not allowed; expected a cron schedule/],
    ['the deadline is under ten minutes', { activeDeadlineSeconds: 60 }, /^activeDeadlineSeconds: 60 is not allowed; expected a whole number from 600/],
    ['the rollout timeout is zero', { rolloutTimeoutSeconds: 0 }, /^rolloutTimeoutSeconds: 0 is not allowed/],
  ])('fails when %s', (_, extra, message) => {
    expect(() => synthConstruct((scope) => new RegistryGarbageCollection(scope, 'gc', { ...props, ...extra }))).toThrow(message);
  });
});

describe('operations options of an environment', () => {
  test('without them nothing of theirs is synthesized (dev), with them GC and the cache are (example-ops)', () => {
    const dev = synth(environment('dev')).json;
    expect(resourcesOf(dev, 'kubernetes_cron_job_v1')).toEqual([]);
    expect(resourcesOf(dev, 'kubernetes_deployment_v1')).toHaveLength(1);
    const ops = synth(environment('example-ops')).json;
    expect(resourcesOf(ops, 'kubernetes_cron_job_v1')).toHaveLength(1);
    expect(resourcesOf(ops, 'kubernetes_deployment_v1')).toHaveLength(2);
    expect(ops.output.mirror_endpoint.value).toBe('${format("%s:%s", element(var.registry_domains, 0), var.mirror_external_port)}');
  });

  test('the cache rolls when its upstream credentials change, and is closed: its own htpasswd, outputs for who may pull', () => {
    const ops = synth(environment('example-ops')).json;
    const mirror = resourcesOf(ops, 'kubernetes_deployment_v1').find((d: any) => d.metadata.name.includes('mirror')) as any;
    const annotations = mirror.spec.template.metadata.annotations;
    // GIVEN a rotated mirror_password THEN the pod template's content hash changes (the hash is over the value)
    expect(annotations['private-registry-stack/credentials-sha256']).toMatch(/sha256\(join\("\\n", \[.*var\.mirror_username, var\.mirror_password\]\)\)/);
    const upstream = resourcesOf(ops, 'kubernetes_secret_v1').find((s: any) => s.metadata.name.includes('upstream')) as any;
    expect(upstream.data).toEqual({ username: '${jsonencode(var.mirror_username)}', password: '${jsonencode(var.mirror_password)}' });
    // closed: the htpasswd volume is the cache's own file (the machine user), not the registry's users
    const authVolume = mirror.spec.template.spec.volume.find((v: any) => v.name === 'auth');
    expect(authVolume.secret.secret_name).toContain('mirror_htpasswd');
    expect(ops.output.mirror_pull_username.value).toBe('mirror-pull');
    expect(ops.output.mirror_pull_password.sensitive).toBe(true);
    // CRI-O's missing step cannot be missed: an output saying what each CRI-O node needs
    expect(ops.output.node_steps.value).toMatch(/global_auth_file = .*private-registry-mirror-auth\.json.*systemctl restart crio/s);
  });

  test('fails when GC is asked for on a ReadWriteOnce storage-class claim', () => {
    expect(() => synth(environment('example-ops', { storage: Storage.storageClass() }))).toThrow(
      /^environment example-ops: garbageCollection: "storage-class" is not allowed; expected storage the GC pod can mount beside the registry/,
    );
    expect(() => synth(environment('example-ops', { storage: Storage.storageClass({ accessMode: 'ReadWriteMany' }), variables: { replicas: 1 } }))).not.toThrow();
  });

  test('fails when GC is asked for on object storage (the job carries neither the store\'s credentials nor a Redis flush)', () => {
    expect(() => synth(environment('example-ops', { storage: Storage.s3(), variables: { s3_bucket: 'registry' } }))).toThrow(
      /^environment example-ops: garbageCollection: "s3" is not allowed; expected claim storage .*flush Redis/,
    );
  });

  test('fails when the cache is asked for without an exposure that routes a second port', () => {
    expect(() => synth(environment('example-ops', { exposure: Exposure.none() }))).toThrow(
      /^environment example-ops: mirror: "none" is not allowed; expected an exposure that routes a second port/,
    );
  });

  test('the registry Deployment ignores exactly the restart annotation a window sets (provider 2.38.0 reports it as drift, issue #2411)', () => {
    const deployment = (json: any) => resourcesOf(json, 'kubernetes_deployment_v1')[0];
    expect(RESTART_ANNOTATION_IGNORE).toBe('spec[0].template[0].metadata[0].annotations["kubectl.kubernetes.io/restartedAt"]');
    expect(deployment(synth(environment('example-ops')).json).lifecycle).toEqual({ ignore_changes: [RESTART_ANNOTATION_IGNORE] });
    // with an autoscaler the replica count stays ignored too
    expect(deployment(synth(environment('example-s3', { autoscaling: true })).json).lifecycle.ignore_changes).toEqual([RESTART_ANNOTATION_IGNORE, 'spec[0].replicas']);
  });

  test('with the Redis cache the window flushes it: the connection from the cache\'s variables, the password unencoded from its Secret', () => {
    const ops = synth(environment('example-ops', { redis: {} })).json;
    const [cronJob] = resourcesOf(ops, 'kubernetes_cron_job_v1');
    const container = cronJob.spec.job_template.spec.template.spec.container[0];
    const [secret] = resourcesOf(ops, 'kubernetes_secret_v1').filter((s: any) => s.metadata.name.endsWith('-redis'));
    expect(container.command[2]).toContain('flush_cache "$WORK/gc.deleted" "$WORK/gc.marked"');
    expect(container.env).toEqual(expect.arrayContaining([
      { name: 'REDIS_ADDRS', value: '${join(" ", var.redis_addresses)}' },
      { name: 'REDIS_USERNAME', value: '${var.redis_username}' },
      { name: 'REDIS_DB', value: '${var.redis_db}' },
      { name: 'REDIS_PASSWORD', value_from: { secret_key_ref: { name: expect.stringContaining('.metadata[0].name}'), key: 'plain-password', optional: false } } },
    ]));
    expect(secret.data).toEqual({ password: '${jsonencode(var.redis_password)}', 'plain-password': '${var.redis_password}' });
    expect(resourcesOf(synth(environment('example-ops')).json, 'kubernetes_cron_job_v1')[0].spec.job_template.spec.template.spec.container[0].command[2])
      .not.toContain('flush_cache');
  });

  test('where the window is documented it says that each restart is a full outage with one replica on host-path (never just "pulls are served")', () => {
    const { VARIABLES } = require('../../lib/variables/catalog');
    const docs = require('node:fs').readFileSync(require('node:path').join(__dirname, '../../docs/operations.md'), 'utf8');
    expect(VARIABLES.gc_schedule.description).toMatch(/each of its two restarts is a short full outage/);
    expect(docs).toMatch(/each of the window's two restarts is a short \*full\*\s+outage/);
    expect(renderGcScript()).toContain('pulls served between the restarts');
  });

  test('fails when GC is asked for with a TLS Redis (the window flushes it over plain TCP)', () => {
    expect(() => synth(environment('example-ops', { redis: { tls: true } }))).toThrow(
      /^environment example-ops: garbageCollection: "redis\.tls" is not allowed; expected a Redis cache without TLS/,
    );
  });

  test('fails when an option has a typo', () => {
    expect(() => synth(environment('example-ops', { garbageCollection: { deleteUntaged: true } as never }))).toThrow(
      /^environment example-ops: garbageCollection\.deleteUntaged: true is not allowed; expected one of its options: deleteUntagged\.$/,
    );
  });
});
