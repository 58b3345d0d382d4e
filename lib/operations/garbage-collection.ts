import { Construct } from 'constructs';
import { Fn, Token } from 'cdktf';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { CronJobV1 } from '@cdktf/provider-kubernetes/lib/cron-job-v1';
import { RoleV1 } from '@cdktf/provider-kubernetes/lib/role-v1';
import { RoleBindingV1 } from '@cdktf/provider-kubernetes/lib/role-binding-v1';
import { ServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/service-account-v1';
import type { DeploymentV1SpecTemplateSpecContainerEnvFrom } from '@cdktf/provider-kubernetes/lib/deployment-v1';
import type { PodContext } from '../context';
import type { StorageBinding } from '../storage';
import type { GarbageCollectionSettings } from './settings';
import { componentLabels, selectorLabels, workloadLabels } from '../labels';
import { MOUNTS } from '../registry/config';
import type { SeLinuxOptions } from '../registry/selinux';
import * as rules from '../rules';
import type { RegistryRedisCache } from '../storage/redis-cache';
import {
  closeWindowSeconds, GC_REDIS_ENV, GC_SCRIPT_ENV, READ_ONLY_ENV, READ_ONLY_VALUE, renderGcScript, WINDOW_OWNER_KEY,
} from './gc-script';
import { registryContainerSecurityContext, registryPodSecurityContext } from '../registry/pod-security';
import { literalText } from '../hcl';

/** Where the GC pod finds the kubectl its init container copies in. */
const TOOLS_DIR = '/tools';

export interface RegistryGarbageCollectionProps {
  /** Namespace of the registry. */
  readonly namespace: string;
  /** The registry Deployment's name (its app name): the one Deployment the GC may restart. */
  readonly deploymentName: string;
  /** Labels selecting the registry's pods. */
  readonly podSelector: Record<string, string>;
  /** The registry image: GC runs the same `registry` binary. */
  readonly image: string;
  /** The registry's ConfigMap holding config.yml: GC reads the same config. */
  readonly configMapName: string;
  /** The registry's storage: GC mounts the same volumes (a host-path claim lands on the volume's node). */
  readonly storage: StorageBinding;
  /**
   * An image with a static `/bin/kubectl` and `cp`, pinned. registry.k8s.io/kubectl has both: since 2023 kubernetes
   * builds it from `build/server-image/kubectl/Dockerfile`, `FROM registry.k8s.io/build-image/debian-base:bookworm-*`
   * plus `apt install bash grep sed gawk coreutils jq diffutils` (`cp` is coreutils; read at kubernetes commit
   * 109cf6820d2fec044504c6d26ae8661d6098ef2d, the line v1.33.0 is cut from). Before that, `build/common.sh` made it
   * FROM go-runner, a distroless image without `cp`: such older images do not work here.
   */
  readonly kubectlImage: string;
  /** When the window opens (cron, in the cluster's time zone unless `timeZone` is set). */
  readonly schedule: string;
  /**
   * Also delete manifests no tag points at (`--delete-untagged`). Safe on 3.1.0; distribution 2.8 deleted the
   * platform manifests of tagged multi-arch indexes this way.
   * @default false
   */
  readonly deleteUntagged?: boolean;
  /**
   * Seconds the job may run in all (the window included) before Kubernetes stops it; the exit trap then returns
   * the registry to read-write.
   * @default 21600 (6 hours)
   */
  readonly activeDeadlineSeconds?: number;
  /**
   * Seconds to wait for each restart of the registry.
   * @default 300
   */
  readonly rolloutTimeoutSeconds?: number;
  /**
   * Memory of the GC container (request = limit: the collector keeps every manifest and blob digest in memory while
   * it marks). On cgroup v2 an OOM kill takes the whole container, exit trap included, and leaves the window open
   * until the next window reopens it: size it for the registry's content.
   * @default "1Gi"
   */
  readonly memory?: string;
  /**
   * The registry's Redis blob-descriptor cache: the window deletes the cache's entries of the blobs GC deleted
   * (address, user and database from the cache's variables, the password from its Secret). Not with TLS.
   * @default - no Redis cache
   */
  readonly cache?: RegistryRedisCache;
  /**
   * The registry pod's SELinux label: the GC pod must carry the same to read data on a hostPath.
   * @default - the runtime's default label
   */
  readonly seLinuxOptions?: SeLinuxOptions;
}

/**
 * Scheduled garbage collection that cannot lose data. A CronJob whose pod flips the registry read-only (a
 * ConfigMap the registry reads through envFrom, then a restart), waits until no pod that accepts writes is left,
 * runs `registry garbage-collect` with the registry's own image, config and storage, and always returns it to
 * read-write (lib/operations/gc-script.ts says how and why).
 *
 * Least privilege: a ServiceAccount whose Role may get and patch exactly the maintenance ConfigMap and the registry
 * Deployment (by name) and list pods in the namespace (to see that every old pod is gone), nothing else; the pod
 * meets the "restricted" Pod Security Standard. The registry Deployment must add `envFrom` (this construct's
 * `registryEnvFrom`): `attach` adds it to the registry pod.
 */
export class RegistryGarbageCollection extends Construct {
  /** Holds the read-only switch; Terraform creates it read-write and never changes it back (ignore_changes). */
  public readonly maintenanceConfigMap: ConfigMapV1;
  public readonly serviceAccount: ServiceAccountV1;
  public readonly role: RoleV1;
  public readonly roleBinding: RoleBindingV1;
  public readonly cronJob: CronJobV1;
  /** The script the GC container runs. */
  public readonly script: string;
  /** What the registry container needs to read the switch. */
  public readonly registryEnvFrom: DeploymentV1SpecTemplateSpecContainerEnvFrom[];

  /**
   * The GC window as a feature of the registry: reads the `gc_*` variables, runs with the registry's image, config
   * and storage, and adds the read-only switch to the registry pod.
   */
  /** `cache`: the registry's Redis cache, when it has one (the window flushes the entries of the blobs GC deleted). */
  static attach(context: PodContext, settings: GarbageCollectionSettings, cache?: RegistryRedisCache): RegistryGarbageCollection {
    const gc = new RegistryGarbageCollection(context.scope, 'garbage-collection', {
      namespace: context.namespace,
      deploymentName: context.appName,
      podSelector: selectorLabels(context.appName, 'registry'),
      image: context.image,
      configMapName: context.pod.configMapName,
      storage: context.storage,
      kubectlImage: context.variables.string('gc_kubectl_image'),
      schedule: context.variables.string('gc_schedule'),
      deleteUntagged: settings.deleteUntagged ?? false,
      cache,
      seLinuxOptions: context.environment.seLinuxOptions,
    });
    context.pod.addEnvFrom(...gc.registryEnvFrom);
    return gc;
  }

  constructor(scope: Construct, id: string, props: RegistryGarbageCollectionProps) {
    super(scope, id);
    // A Terraform variable is checked by its own validation block.
    if (!Token.isUnresolved(props.schedule)) rules.check('schedule', props.schedule, [rules.cronSchedule, rules.cronRangesInOrder]);
    const activeDeadlineSeconds = props.activeDeadlineSeconds ?? 21600;
    rules.check('activeDeadlineSeconds', activeDeadlineSeconds, [rules.wholeNumber(600, 604800)]);
    const rolloutTimeoutSeconds = props.rolloutTimeoutSeconds ?? 300;
    const scriptOptions = { deleteUntagged: props.deleteUntagged ?? false, rolloutTimeoutSeconds, redisCache: props.cache !== undefined };
    // Room for the exit trap (stop GC, flush, switch back, one restart), with a minute to spare.
    const terminationGracePeriodSeconds = closeWindowSeconds(scriptOptions) + 60;
    // A window recorded as open longer than this was left open by a pod that died: the next window reopens it.
    this.script = renderGcScript({ ...scriptOptions, windowSeconds: activeDeadlineSeconds + terminationGracePeriodSeconds + 60 });
    const memory = props.memory ?? '1Gi';

    const ns = props.namespace;
    const name = `${props.deploymentName}-gc`;
    const labels = workloadLabels(name, 'garbage-collection');

    this.maintenanceConfigMap = new ConfigMapV1(this, 'maintenance', {
      metadata: { name: `${props.deploymentName}-maintenance`, namespace: ns, labels: componentLabels('garbage-collection') },
      data: { [READ_ONLY_ENV]: READ_ONLY_VALUE.off, [WINDOW_OWNER_KEY]: '' },
      // The GC job owns the switch while its window is open: an apply during the window must not flip it back.
      lifecycle: { ignoreChanges: ['data'] },
    });
    const maintenanceName = this.maintenanceConfigMap.metadata.name;
    this.registryEnvFrom = [{ configMapRef: { name: maintenanceName, optional: false } }];

    this.serviceAccount = new ServiceAccountV1(this, 'service-account', {
      metadata: { name, namespace: ns, labels },
      // Only the GC pod mounts the token, by its own setting.
      automountServiceAccountToken: false,
    });
    this.role = new RoleV1(this, 'role', {
      metadata: { name, namespace: ns, labels },
      rule: [
        { apiGroups: [''], resources: ['configmaps'], resourceNames: [maintenanceName], verbs: ['get', 'patch'] },
        { apiGroups: ['apps'], resources: ['deployments'], resourceNames: [props.deploymentName], verbs: ['get', 'patch'] },
        // list cannot be limited by name; pods are read-only here (no exec, no logs, no secrets).
        { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      ],
    });
    this.roleBinding = new RoleBindingV1(this, 'role-binding', {
      metadata: { name, namespace: ns, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.role.metadata.name },
      subject: [{ kind: 'ServiceAccount', name: this.serviceAccount.metadata.name, namespace: ns }],
    });

    const restrictedContainer = registryContainerSecurityContext();
    const selector = Object.entries(props.podSelector).map(([k, v]) => `${k}=${v}`).join(',');
    const env = GC_SCRIPT_ENV;

    this.cronJob = new CronJobV1(this, 'cron-job', {
      metadata: { name, namespace: ns, labels },
      spec: {
        schedule: props.schedule,
        // One window at a time; a missed run waits for the next schedule rather than piling up.
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            // A failed window is reported, not retried at once: the next schedule runs it again.
            backoffLimit: 0,
            activeDeadlineSeconds,
            template: {
              metadata: { labels },
              spec: {
                serviceAccountName: this.serviceAccount.metadata.name,
                automountServiceAccountToken: true,
                enableServiceLinks: false,
                restartPolicy: 'Never',
                terminationGracePeriodSeconds,
                securityContext: registryPodSecurityContext(props.seLinuxOptions),
                initContainer: [{
                  name: 'kubectl',
                  image: props.kubectlImage,
                  imagePullPolicy: 'IfNotPresent',
                  command: ['cp', '/bin/kubectl', `${TOOLS_DIR}/kubectl`],
                  securityContext: restrictedContainer,
                  resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } },
                  volumeMount: [{ name: 'tools', mountPath: TOOLS_DIR }],
                }],
                container: [{
                  name: 'garbage-collect',
                  image: props.image,
                  imagePullPolicy: 'IfNotPresent',
                  command: ['/bin/sh', '-c', literalText(this.script), 'registry-gc'],
                  env: [
                    { name: 'PATH', value: `${TOOLS_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` },
                    { name: 'HOME', value: '/tmp' },
                    { name: env.namespace, value: ns },
                    { name: env.deployment, value: props.deploymentName },
                    { name: env.maintenanceConfigMap, value: maintenanceName },
                    { name: env.podSelector, value: selector },
                    { name: env.configPath, value: MOUNTS.configFile },
                    { name: env.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                    ...(props.cache ? redisEnv(props.cache) : []),
                    { name: 'OTEL_TRACES_EXPORTER', value: 'none' },
                  ],
                  securityContext: restrictedContainer,
                  resources: { requests: { cpu: '50m', memory }, limits: { memory } },
                  volumeMount: [
                    { name: 'config', mountPath: MOUNTS.configFile, subPath: 'config.yml', readOnly: true },
                    ...props.storage.volumeMounts,
                    { name: 'tools', mountPath: TOOLS_DIR, readOnly: true },
                    { name: 'tmp', mountPath: '/tmp' },
                  ],
                }],
                volume: [
                  { name: 'config', configMap: { name: props.configMapName, optional: false } },
                  ...props.storage.volumes,
                  { name: 'tools', emptyDir: { sizeLimit: '128Mi' } },
                  { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
                ],
              },
            },
          },
        },
      },
    });
  }
}

/** The flush's connection: the same values the registry reads, without the registry's JSON encoding. */
function redisEnv(cache: RegistryRedisCache) {
  return [
    { name: GC_REDIS_ENV.addresses, value: Fn.join(' ', cache.addresses) },
    { name: GC_REDIS_ENV.username, value: cache.username },
    { name: GC_REDIS_ENV.password, valueFrom: { secretKeyRef: { name: cache.passwordSecret.metadata.name, key: cache.plainPasswordKey, optional: false } } },
    { name: GC_REDIS_ENV.db, value: cache.db },
  ];
}
