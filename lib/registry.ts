import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { DeploymentV1 } from '@cdktf/provider-kubernetes/lib/deployment-v1';
import { ServiceV1 } from '@cdktf/provider-kubernetes/lib/service-v1';
import type { ServiceType } from './environments';
import { MOUNTS, renderRegistryConfig } from './registry-config';
import * as rules from './rules';

/** Port the registry serves on inside the pod (the external port is the exposure's business). */
export const REGISTRY_PORT = 5000;
/** Debug server: health, Prometheus metrics, pprof. Pod network only; never on the Service. */
export const DEBUG_PORT = 5001;
/** The non-root user the registry runs as (the owner the hostPath directory needs). */
export const REGISTRY_UID = 1000;

export interface SeLinuxOptions {
  readonly level?: string;
  readonly role?: string;
  readonly type?: string;
  readonly user?: string;
}

/** An SELinux user, role or type name such as `container_t`, `system_u`, `object_r`. */
export const seLinuxName = rules.pattern(
  '^[a-z][a-z0-9_]*$',
  "an SELinux name such as container_t (lowercase letters, digits and '_', starting with a letter)",
  255,
);

/** An MLS/MCS level or range such as `s0:c123,c456` or `s0-s0:c0.c1023`. */
export const seLinuxLevel = rules.pattern(
  '^s[0-9]+(-s[0-9]+)?(:c[0-9]+([.,]c[0-9]+)*)?$',
  'an SELinux level such as s0:c123,c456 (a sensitivity s0, optionally a range s0-s0, then categories c0 to c1023)',
  255,
);

/** Throws an Error naming the field and value when an SELinux option is not well formed. */
export function validateSeLinuxOptions(field: string, options: SeLinuxOptions): void {
  const known = ['level', 'role', 'type', 'user'];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new Error(`${field}.${key}: is not allowed; expected one of ${known.join(', ')}.`);
  }
  if (options.level !== undefined) rules.check(`${field}.level`, options.level, [seLinuxLevel]);
  for (const key of ['role', 'type', 'user'] as const) {
    if (options[key] !== undefined) rules.check(`${field}.${key}`, options[key], [seLinuxName]);
  }
}

export interface RegistryServerProps {
  readonly namespace: string;
  /** Name of the ConfigMap, Deployment and Service; also the `app.kubernetes.io/name` label. */
  readonly name: string;
  readonly image: string;
  /** Replicas above 1 need shared (RWX) storage; the stack validates that. */
  readonly replicas: number;
  /** The claim is ReadWriteMany: pods may overlap during a rolling update. */
  readonly sharedStorage: boolean;
  readonly serviceType: ServiceType;
  /** The kubernetes.io/tls secret (tls.crt, tls.key). */
  readonly tlsSecretName: string;
  readonly htpasswdSecretName: string;
  readonly htpasswdKey: string;
  readonly httpSecretName: string;
  readonly httpSecretKey: string;
  readonly claimName: string;
  /**
   * Values that change when a secret's content changes (for example the secrets' resource versions): they go
   * into a pod-template annotation so the pod rolls when TLS material, users or the http secret change.
   */
  readonly rolloutTriggers: string[];
  readonly resources: { readonly cpuRequest: string; readonly memoryRequest: string; readonly memoryLimit: string };
  /**
   * SELinux label for the pod (for example `{ level: 's0:c123,c456' }` or a `type` allowed on the hostPath).
   * @default - the runtime's default label
   */
  readonly seLinuxOptions?: SeLinuxOptions;
  /**
   * Add an init container that makes the data directory uid/gid 1000's when its top directory is not (hostPath
   * volumes ignore fsGroup). It runs as root with the CHOWN capability only, which the "restricted" Pod Security
   * Standard refuses: the namespace must then enforce "baseline".
   * @default false
   */
  readonly chownDataDirectory?: boolean;
}

/** The registry itself: its config, the Deployment that runs it and the Service in front of it. */
export class RegistryServer extends Construct {
  public readonly configMap: ConfigMapV1;
  public readonly deployment: DeploymentV1;
  public readonly service: ServiceV1;
  /** The rendered config.yml (no secrets). */
  public readonly configYaml: string;
  /** In-cluster DNS names of the Service. */
  public readonly serviceDnsNames: string[];
  public readonly port = REGISTRY_PORT;
  public readonly debugPort = DEBUG_PORT;
  /** Labels selecting the registry pods. */
  public readonly selector: Record<string, string>;

  constructor(scope: Construct, id: string, props: RegistryServerProps) {
    super(scope, id);
    if (props.seLinuxOptions) validateSeLinuxOptions('seLinuxOptions', props.seLinuxOptions);
    this.configYaml = renderRegistryConfig({ port: REGISTRY_PORT, debugPort: DEBUG_PORT });
    this.selector = { 'app.kubernetes.io/name': props.name, 'app.kubernetes.io/component': 'registry' };
    const labels = { ...this.selector, 'app.kubernetes.io/managed-by': 'private-registry-stack' };
    const metadata = { name: props.name, namespace: props.namespace, labels };
    this.serviceDnsNames = [`${props.name}.${props.namespace}.svc`, `${props.name}.${props.namespace}.svc.cluster.local`];

    this.configMap = new ConfigMapV1(this, 'config', { metadata, data: { 'config.yml': this.configYaml } });

    const probe = (periodSeconds: number, failureThreshold: number) => ({
      // GET / answers 200 without credentials and 503 when storage is unhealthy; /v2/ would answer 401.
      httpGet: { path: '/', port: 'registry', scheme: 'HTTPS' },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 5,
    });
    const uid = String(REGISTRY_UID);

    this.deployment = new DeploymentV1(this, 'deployment', {
      metadata,
      waitForRollout: true,
      spec: {
        replicas: String(props.replicas),
        // One pod at a time on a ReadWriteOnce volume: a rolling update would leave the new pod Pending.
        strategy: { type: props.sharedStorage ? 'RollingUpdate' : 'Recreate' },
        revisionHistoryLimit: 3,
        selector: { matchLabels: this.selector },
        template: {
          metadata: {
            labels,
            annotations: {
              'private-registry-stack/config-sha256': createHash('sha256').update(this.configYaml).digest('hex'),
              'private-registry-stack/secret-versions': props.rolloutTriggers.join(','),
            },
          },
          spec: {
            automountServiceAccountToken: false,
            // A Service named "registry" would inject REGISTRY_PORT=tcp://..., which the registry reads as config.
            enableServiceLinks: false,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: uid,
              runAsGroup: uid,
              fsGroup: uid,
              fsGroupChangePolicy: 'OnRootMismatch',
              seccompProfile: { type: 'RuntimeDefault' },
              ...(props.seLinuxOptions ? { seLinuxOptions: props.seLinuxOptions } : {}),
            },
            ...(props.chownDataDirectory ? { initContainer: [chownInitContainer(props.image)] } : {}),
            container: [
              {
                name: 'registry',
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                args: ['serve', MOUNTS.configFile],
                port: [
                  { name: 'registry', containerPort: REGISTRY_PORT, protocol: 'TCP' },
                  { name: 'metrics', containerPort: DEBUG_PORT, protocol: 'TCP' },
                ],
                env: [
                  {
                    name: 'REGISTRY_HTTP_SECRET',
                    valueFrom: { secretKeyRef: { name: props.httpSecretName, key: props.httpSecretKey, optional: false } },
                  },
                  // distribution v3 exports traces to localhost:4318 by default; nothing listens there.
                  { name: 'OTEL_TRACES_EXPORTER', value: 'none' },
                ],
                startupProbe: probe(2, 30),
                readinessProbe: probe(10, 3),
                livenessProbe: probe(20, 3),
                resources: {
                  requests: { cpu: props.resources.cpuRequest, memory: props.resources.memoryRequest },
                  limits: { memory: props.resources.memoryLimit },
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  privileged: false,
                  readOnlyRootFilesystem: true,
                  runAsNonRoot: true,
                  runAsUser: uid,
                  capabilities: { drop: ['ALL'] },
                  seccompProfile: { type: 'RuntimeDefault' },
                },
                volumeMount: [
                  { name: 'config', mountPath: MOUNTS.configFile, subPath: 'config.yml', readOnly: true },
                  { name: 'tls', mountPath: MOUNTS.tlsDir, readOnly: true },
                  { name: 'auth', mountPath: MOUNTS.authDir, readOnly: true },
                  { name: 'data', mountPath: MOUNTS.data },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volume: [
              { name: 'config', configMap: { name: this.configMap.metadata.name, optional: false } },
              // Mandatory mounts: a missing htpasswd file makes the registry invent a user with a random password.
              {
                name: 'tls',
                secret: {
                  secretName: props.tlsSecretName,
                  optional: false,
                  defaultMode: '0440',
                  items: [
                    { key: 'tls.crt', path: 'tls.crt' },
                    { key: 'tls.key', path: 'tls.key' },
                  ],
                },
              },
              {
                name: 'auth',
                secret: {
                  secretName: props.htpasswdSecretName,
                  optional: false,
                  defaultMode: '0440',
                  items: [{ key: props.htpasswdKey, path: 'htpasswd' }],
                },
              },
              { name: 'data', persistentVolumeClaim: { claimName: props.claimName } },
              { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
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

/** The shell step of the chown init container: only when the top directory is not already 1000:1000. */
export const CHOWN_DATA_SCRIPT = [
  'set -eu',
  `d=${MOUNTS.data}`,
  `if [ "$(stat -c %u:%g "$d")" != ${REGISTRY_UID}:${REGISTRY_UID} ]; then`,
  `  echo "chown -R ${REGISTRY_UID}:${REGISTRY_UID} $d (was $(stat -c %u:%g "$d"))"`,
  `  chown -R ${REGISTRY_UID}:${REGISTRY_UID} "$d"`,
  'fi',
].join('\n');

/**
 * Root with CHOWN and nothing else: chown of root-owned files needs CAP_CHOWN; the registry's own directories
 * are 0755, so walking them needs no DAC capability. Same image as the registry (its busybox has chown and stat).
 */
function chownInitContainer(image: string) {
  return {
    name: 'chown-data',
    image,
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', CHOWN_DATA_SCRIPT],
    securityContext: {
      runAsUser: '0',
      runAsGroup: '0',
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['CHOWN'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
    volumeMount: [{ name: 'data', mountPath: MOUNTS.data }],
  };
}
