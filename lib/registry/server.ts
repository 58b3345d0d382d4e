import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { Fn, Token } from 'cdktf';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import {
  DeploymentV1,
  type DeploymentV1SpecTemplateSpecContainerEnv,
  type DeploymentV1SpecTemplateSpecContainerEnvFrom,
} from '@cdktf/provider-kubernetes/lib/deployment-v1';
import { ServiceV1 } from '@cdktf/provider-kubernetes/lib/service-v1';
import type { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import type { RegistryAuth } from '../auth';
import type { RegistryTls } from '../tls';
import type { PodAdditions, StorageBinding, RolloutStrategy } from '../storage';
import { selectorLabels, workloadLabels } from '../labels';
import { DEBUG_PORT, MOUNTS, POD_GRACE_SECONDS, REGISTRY_PORT, renderRegistryConfig, type RegistryConfigOptions } from './config';
import { type SeLinuxOptions, validateSeLinuxOptions } from './selinux';
import { registryContainerSecurityContext, registryPodSecurityContext } from './pod-security';
import { literalText } from '../hcl';
import { FRONT_FILES, FRONT_MOUNTS, frontCommand, frontReloadWatcher, INNER_PORT, renderFrontConfig } from './front';

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

/** In-cluster DNS names of the registry Service: what pods (and the certificate's SANs) use inside the cluster. */
export function serviceDnsNames(name: string, namespace: string): string[] {
  return ['%s.%s.svc', '%s.%s.svc.cluster.local'].map((f) => Fn.format(f, [name, namespace]));
}

export interface RegistryServerProps {
  readonly namespace: string;
  /** Name of the ConfigMap, Deployment and Service; also the `app.kubernetes.io/name` label. */
  readonly name: string;
  readonly image: string;
  /** The storage's limit applies; the stack validates it. */
  readonly replicas: number;
  readonly serviceType: ServiceType;
  /** TLS material: the server mounts its kubernetes.io/tls secret (tls.crt, tls.key). */
  readonly tls: RegistryTls;
  /** Users and the shared http secret: the server mounts the htpasswd file and reads the http secret as env. */
  readonly auth: RegistryAuth;
  /** The bound storage: driver config, volumes, init containers. */
  readonly storage: StorageBinding;
  /** How pods are replaced (the storage decides). */
  readonly rolloutStrategy: RolloutStrategy;
  /**
   * The blob-descriptor cache shared by the replicas (Redis): its config.yml section and what the pod needs.
   * @default - each pod's in-memory cache
   */
  readonly cache?: PodAdditions & { readonly config: Record<string, unknown> };
  /**
   * Spread the pods over nodes and zones (storage that lives off the nodes). Soft: a full or cordoned node never
   * leaves a pod Pending; the PodDisruptionBudget keeps voluntary disruptions to one pod at a time.
   * @default false
   */
  readonly spreadReplicas?: boolean;
  /**
   * A HorizontalPodAutoscaler owns the replica count: Terraform sets `replicas` at create and leaves later changes
   * to it.
   * @default false
   */
  readonly autoscaled?: boolean;
  readonly resources: { readonly cpuRequest: string; readonly memoryRequest: string; readonly memoryLimit: string };
  /**
   * SELinux label for the pod (for example `{ level: 's0:c123,c456' }` or a `type` allowed on the hostPath).
   * @default - the runtime's default label
   */
  readonly seLinuxOptions?: SeLinuxOptions;
  /**
   * config.yml options beyond port and storage: `auth: false` for a pull-through cache that serves anonymous pulls
   * (then the htpasswd secret is not mounted).
   * @default - the registry's own: TLS and htpasswd auth
   */
  readonly config?: Pick<RegistryConfigOptions, 'auth'>;
  /**
   * More environment variables of the registry container (a pull-through cache's `proxy` section: values that are
   * Terraform variables go here, where a change rolls the pod, not into config.yml).
   * @default - none
   */
  readonly extraEnv?: DeploymentV1SpecTemplateSpecContainerEnv[];
  /**
   * ConfigMaps or secrets whose keys become environment variables when the container starts (the garbage-collection
   * window's read-only switch).
   * @default - none
   */
  readonly envFrom?: DeploymentV1SpecTemplateSpecContainerEnvFrom[];
  /**
   * OpenTelemetry tracing (distribution v3 exports traces to localhost:4318 unless told otherwise): the exporter
   * (`none`, `otlp`, `console`) and the OTLP endpoint (empty: the SDK's default).
   * @default - { exporter: 'none' }: no traces
   */
  readonly tracing?: { readonly exporter: string; readonly otlpEndpoint?: string };
  /**
   * The htpasswd file this server checks, when it is not the registry's users (the pull-through cache's machine
   * user).
   * @default - `auth.htpasswdSecret` (the registry's users)
   */
  readonly htpasswd?: { readonly secret: SecretV1; readonly key: string };
  /**
   * More values the registry reads only at start (credentials in `extraEnv` secrets): their content hash rolls the
   * pod when one changes.
   * @default - none beyond the storage's and the cache's
   */
  readonly restartOnChange?: string[];
  /**
   * The authorizing front (lib/registry/front.ts): an nginx container on the registry port terminates TLS, checks
   * passwords and the users' grants, and passes allowed requests to the registry, which then listens on 127.0.0.1
   * with its own TLS and auth off. `grants` is the grants file as a Terraform expression (lib/auth/grants.ts).
   * @default - none: the registry serves TLS and checks htpasswd itself (the pull-through cache)
   */
  readonly front?: { readonly image: string; readonly grants: string };
}

/** The registry itself: its config, the Deployment that runs it and the Service in front of it. */
/** The Terraform path of the pod template's restart annotation, exactly (cdk.tf.json: a traversal string). */
export const RESTART_ANNOTATION_IGNORE = 'spec[0].template[0].metadata[0].annotations["kubectl.kubernetes.io/restartedAt"]';

export class RegistryServer extends Construct {
  public readonly configMap: ConfigMapV1;
  public readonly deployment: DeploymentV1;
  public readonly service: ServiceV1;
  /** The rendered config.yml (no secrets). */
  public readonly configYaml: string;
  /** The front's nginx.conf, when the registry has the front. */
  public readonly frontConfig?: string;
  /** The front's ConfigMap (nginx.conf and the grants file), when the registry has the front. */
  public readonly frontConfigMap?: ConfigMapV1;
  public readonly port = REGISTRY_PORT;
  public readonly debugPort = DEBUG_PORT;
  /** Labels selecting the registry pods. */
  public readonly selector: Record<string, string>;

  constructor(scope: Construct, id: string, props: RegistryServerProps) {
    super(scope, id);
    if (props.seLinuxOptions) validateSeLinuxOptions('seLinuxOptions', props.seLinuxOptions);
    const front = props.front;
    this.configYaml = renderRegistryConfig({
      port: REGISTRY_PORT, debugPort: DEBUG_PORT, storageDriver: props.storage.driver, redis: props.cache?.config, ...props.config,
      // Behind the front the registry serves plain HTTP on loopback: the front is its only client.
      ...(front ? { host: '127.0.0.1', port: INNER_PORT, tls: false, auth: false } : {}),
    });
    this.frontConfig = front ? renderFrontConfig({
      port: REGISTRY_PORT, innerPort: INNER_PORT, tlsDir: FRONT_MOUNTS.tlsDir, htpasswdPath: `${FRONT_MOUNTS.authDir}/htpasswd`,
      grantsPath: `${FRONT_MOUNTS.configDir}/grants.map`, runDir: FRONT_MOUNTS.runDir,
    }) : undefined;
    // The registry checks passwords itself only without the front.
    const authenticated = !front && (props.config?.auth ?? true);
    this.selector = selectorLabels(props.name, 'registry');
    const labels = workloadLabels(props.name, 'registry');
    const metadata = { name: props.name, namespace: props.namespace, labels };
    const { tls, auth } = props;
    const htpasswd = props.htpasswd ?? { secret: auth.htpasswdSecret, key: auth.htpasswdKey };
    // The pod rolls when TLS material, users or the http secret change: a hash of the secrets' CONTENT, known at
    // plan time, so the change reaches the pod in the same apply. (resource_version is computed after the apply
    // and the provider does not mark it unknown on update: an annotation built from it rolled the pod one apply
    // late.) The hash reveals nothing of the secrets, so it is declassified for the plan output.
    const secretsHash = Fn.nonsensitive(Fn.sha256(Fn.jsonencode([tls.rolloutInput, htpasswd.secret.data, auth.httpSecret.data])));
    const additions = [props.storage, ...(props.cache ? [props.cache] : [])];
    // Credentials the registry reads only at start: a content hash, salted with the http secret so that a weak
    // password cannot be brute-forced from the annotation (and shown in plans: the hash reveals nothing).
    const restartOn = [...additions.flatMap((a) => a.restartOnChange ?? []), ...(props.restartOnChange ?? [])];
    const credentialsHash: Record<string, string> = restartOn.length === 0
      ? {}
      : { 'private-registry-stack/credentials-sha256': Token.asString(Fn.nonsensitive(Fn.sha256(Fn.join('\n', [auth.httpSecretValue, ...restartOn])))) };

    this.configMap = new ConfigMapV1(this, 'config', { metadata, data: { 'config.yml': literalText(this.configYaml) } });
    const grants = front ? `\${${front.grants}}` : undefined;
    const reloadWatcher = front ? frontReloadWatcher() : undefined;
    if (front) {
      this.frontConfigMap = new ConfigMapV1(this, 'front-config', {
        metadata: { ...metadata, name: Fn.format('%s-front', [props.name]) },
        data: {
          [FRONT_FILES.config]: literalText(this.frontConfig!),
          [FRONT_FILES.grants]: grants!,
          [FRONT_FILES.reloadWatcher]: literalText(reloadWatcher!),
        },
      });
    }

    const probe = (periodSeconds: number, failureThreshold: number) => ({
      // GET / answers 200 without credentials and 503 when storage is unhealthy; /v2/ would answer 401.
      httpGet: { path: '/', port: 'registry', scheme: 'HTTPS' },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 5,
    });
    // Liveness asks only whether the process accepts connections: a storage outage makes GET / answer 503, and
    // restarting the pod for it would fix nothing (readiness takes the pod out of the Service instead).
    const liveness = { tcpSocket: [{ port: 'registry' }], periodSeconds: 20, failureThreshold: 3, timeoutSeconds: 5 };

    this.deployment = new DeploymentV1(this, 'deployment', {
      metadata,
      waitForRollout: true,
      lifecycle: {
        ignoreChanges: [
          // `kubectl rollout restart` (and the GC window) stamps this annotation; provider 2.38.0 reads it back into
          // state (structures_deployment.go keeps it, upstream issue #2411) and the next apply would strip it and
          // restart the registry once more.
          RESTART_ANNOTATION_IGNORE,
          // the autoscaler owns the replica count
          ...(props.autoscaled ? ['spec[0].replicas'] : []),
        ],
      },
      spec: {
        replicas: String(props.replicas),
        strategy: props.rolloutStrategy,
        revisionHistoryLimit: 3,
        selector: { matchLabels: this.selector },
        template: {
          metadata: {
            labels,
            annotations: {
              'private-registry-stack/config-sha256': createHash('sha256').update(this.configYaml).update(this.frontConfig ?? '').update(reloadWatcher ?? '').digest('hex'),
              // Roles change the grants file: the front reads it at start, so the pods roll in the same apply.
              ...(front ? { 'private-registry-stack/grants-sha256': `\${sha256(${front.grants})}` } : {}),
              'private-registry-stack/secrets-sha256': secretsHash,
              ...credentialsHash,
            },
          },
          spec: {
            // The registry never calls the Kubernetes API; a cloud identity (S3) projects its own token.
            automountServiceAccountToken: false,
            ...(props.storage.serviceAccountName ? { serviceAccountName: props.storage.serviceAccountName } : {}),
            // A Service named "registry" would inject REGISTRY_PORT=tcp://..., which the registry reads as config.
            enableServiceLinks: false,
            // Longer than http.draintimeout: uploads in flight finish before the kubelet's SIGKILL.
            terminationGracePeriodSeconds: POD_GRACE_SECONDS,
            securityContext: registryPodSecurityContext(props.seLinuxOptions),
            ...(props.storage.initContainers.length > 0 ? { initContainer: props.storage.initContainers } : {}),
            ...(props.spreadReplicas ? { topologySpreadConstraint: spreadOver(this.selector) } : {}),
            container: [
              {
                name: 'registry',
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                args: ['serve', MOUNTS.configFile],
                port: [
                  ...(front ? [] : [{ name: 'registry', containerPort: REGISTRY_PORT, protocol: 'TCP' }]),
                  { name: 'metrics', containerPort: DEBUG_PORT, protocol: 'TCP' },
                ],
                env: [
                  {
                    name: 'REGISTRY_HTTP_SECRET',
                    valueFrom: { secretKeyRef: { name: auth.httpSecret.metadata.name, key: auth.httpSecretKey, optional: false } },
                  },
                  // distribution v3 exports traces to localhost:4318 by default; nothing listens there.
                  { name: 'OTEL_TRACES_EXPORTER', value: props.tracing?.exporter ?? 'none' },
                  // The OTel SDK reads an empty variable as unset (its default endpoint).
                  ...(props.tracing?.otlpEndpoint !== undefined ? [{ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: props.tracing.otlpEndpoint }] : []),
                  ...additions.flatMap((a) => a.env ?? []),
                  ...(props.extraEnv ?? []),
                ],
                ...(props.envFrom ? { envFrom: props.envFrom } : {}),
                // Behind the front its probes ask through the front (the registry's own GET / answer); the registry's
                // liveness asks the debug port, the one it serves off loopback.
                ...(front ? { livenessProbe: { ...liveness, tcpSocket: [{ port: 'metrics' }] } } : {
                  startupProbe: probe(2, 30),
                  readinessProbe: probe(10, 3),
                  livenessProbe: liveness,
                }),
                resources: {
                  requests: { cpu: props.resources.cpuRequest, memory: props.resources.memoryRequest },
                  limits: { memory: props.resources.memoryLimit },
                },
                securityContext: registryContainerSecurityContext(),
                volumeMount: [
                  { name: 'config', mountPath: MOUNTS.configFile, subPath: 'config.yml', readOnly: true },
                  ...(front ? [] : [{ name: 'tls', mountPath: MOUNTS.tlsDir, readOnly: true }]),
                  ...(authenticated ? [{ name: 'auth', mountPath: MOUNTS.authDir, readOnly: true }] : []),
                  ...additions.flatMap((a) => a.volumeMounts),
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
              ...(front ? [{
                name: 'front',
                image: front.image,
                imagePullPolicy: 'IfNotPresent',
                // nginx, with the watcher that reloads it when the certificate in the TLS volume changes.
                command: frontCommand(),
                port: [{ name: 'registry', containerPort: REGISTRY_PORT, protocol: 'TCP' }],
                startupProbe: probe(2, 30),
                readinessProbe: probe(10, 3),
                livenessProbe: liveness,
                resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '128Mi' } },
                securityContext: registryContainerSecurityContext(),
                volumeMount: [
                  { name: 'front-config', mountPath: FRONT_MOUNTS.configDir, readOnly: true },
                  { name: 'tls', mountPath: FRONT_MOUNTS.tlsDir, readOnly: true },
                  { name: 'auth', mountPath: FRONT_MOUNTS.authDir, readOnly: true },
                  { name: 'front-run', mountPath: FRONT_MOUNTS.runDir },
                ],
              }] : []),
            ],
            volume: [
              { name: 'config', configMap: { name: this.configMap.metadata.name, optional: false } },
              // Mandatory mounts: a missing htpasswd file makes the registry invent a user with a random password.
              {
                name: 'tls',
                secret: {
                  secretName: tls.secretName,
                  optional: false,
                  defaultMode: '0440',
                  items: [
                    { key: 'tls.crt', path: 'tls.crt' },
                    { key: 'tls.key', path: 'tls.key' },
                  ],
                },
              },
              ...(authenticated || front ? [{
                name: 'auth',
                secret: {
                  secretName: htpasswd.secret.metadata.name,
                  optional: false,
                  defaultMode: '0440',
                  items: [{ key: htpasswd.key, path: 'htpasswd' }],
                },
              }] : []),
              ...additions.flatMap((a) => a.volumes),
              { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
              ...(front ? [
                { name: 'front-config', configMap: { name: this.frontConfigMap!.metadata.name, optional: false } },
                // pid, the refusal socket, and request bodies nginx spools when a client outpaces the registry
                { name: 'front-run', emptyDir: { sizeLimit: '256Mi' } },
              ] : []),
            ],
          },
        },
      },
    });

    this.service = new ServiceV1(this, 'service', {
      metadata,
      spec: {
        type: props.serviceType,
        selector: this.selector,
        // The registry port only: the debug port (metrics, pprof, vars) stays inside the pod network.
        port: [{ name: 'registry', port: REGISTRY_PORT, targetPort: 'registry', protocol: 'TCP' }],
      },
    });
  }
}

/**
 * One pod per node and per zone where the cluster allows it, counted per ReplicaSet (`pod-template-hash`: during a
 * rollout the new pods spread among themselves) and over the nodes the pods may use (tainted and cordoned nodes do
 * not count).
 */
function spreadOver(selector: Record<string, string>) {
  return ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'].map((topologyKey) => ({
    topologyKey,
    maxSkew: 1,
    whenUnsatisfiable: 'ScheduleAnyway',
    nodeAffinityPolicy: 'Honor',
    nodeTaintsPolicy: 'Honor',
    labelSelector: [{ matchLabels: selector }],
    matchLabelKeys: ['pod-template-hash'],
  }));
}
