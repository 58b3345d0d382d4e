/**
 * A stand-in for the kubelet, driven by cdk.tf.json: lays out the synthesized registry Deployment's volumes as host
 * directories (ConfigMap data, secret items with their modes, the data claim), resolves its env (plain values and
 * secretKeyRefs), and computes the REGISTRY_* overrides that point the config's in-container paths at those
 * directories. Nothing here is hand-copied from lib/: every path, key and port is read from the synthesized JSON.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parse } from 'yaml';
import { address, onlyWithAddress, referencedAddress, resolveVariable, resourceAt, type Synthesized } from '../json';
import { METRICS_SERVICE_LABEL } from '../../lib/monitoring/monitoring';

/** The parts of cdk.tf.json read here. */
export type SynthesizedJson = Pick<Synthesized, 'resource' | 'variable'>;

/** Local stand-ins for Kubernetes secrets, keyed by Terraform address (`kubernetes_secret_v1.tls_secret_6CB779E3`). */
export type LocalSecrets = Record<string, Record<string, string>>;

/**
 * Values of the Terraform expressions in the pod's env and ConfigMaps (`${jsonencode(var.s3_bucket)}` -> `"registry"`),
 * as Terraform computes them on apply (harness/programs/stack-values.ts).
 */
export type EvaluatedExpressions = Record<string, string>;

const isExpression = (value: string) => value.includes('${');

/** A synthesized value, or its evaluation when it is a Terraform expression (which must have been evaluated). */
function valueOf(value: string, evaluated: EvaluatedExpressions, what: string): string {
  if (!isExpression(value)) return value;
  if (!(value in evaluated)) throw new Error(`${what}: ${value} was not evaluated (harness/programs/stack-values.ts)`);
  return evaluated[value];
}

/** `${var.<name>}` -> the default, for every variable whose default is a string, number or bool. */
function variableDefaults(json: SynthesizedJson): EvaluatedExpressions {
  return Object.fromEntries(Object.entries<{ default?: unknown }>(json.variable ?? {})
    .filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v.default))
    .map(([name, v]) => [`\${var.${name}}`, String(v.default)]));
}

const onlyOf = onlyWithAddress;

/** The port number of a `:5000` / `host:5000` listen address. */
export function portOf(addr: string): number {
  const match = /:(\d+)$/.exec(addr);
  if (!match) throw new Error(`not a listen address: ${addr}`);
  return Number(match[1]);
}

export interface VolumeMount {
  readonly name: string;
  readonly mount_path: string;
  readonly sub_path?: string;
  readonly read_only?: boolean;
}

/** The registry workload as synthesized: Deployment container, volumes, config and Service. */
export interface RegistryWorkload {
  readonly deploymentAddress: string;
  readonly namespaceExpression: string;
  readonly container: any;
  readonly volumes: any[];
  readonly mounts: VolumeMount[];
  /** The container's args: `serve <config path in the container>`. */
  readonly args: string[];
  /** config.yml text, from the ConfigMap the config volume names. */
  readonly configYaml: string;
  readonly config: any;
  readonly serviceAddress: string;
  readonly service: any;
  /** Container port numbers by port name, of the registry container and the front. */
  readonly containerPorts: Record<string, number>;
  /** The authorizing front (lib/registry/front.ts), when the pod has one. */
  readonly front?: FrontWorkload;
}

/** The front container as synthesized: its mounts and its nginx.conf (from the ConfigMap its command names). */
export interface FrontWorkload {
  readonly container: any;
  readonly mounts: VolumeMount[];
  readonly configPath: string;
  readonly nginxConf: string;
}

/**
 * `server` names the RegistryServer construct when the stack has several (`mirror/server`); by default the stack's
 * only Deployment and Service.
 */
export function registryWorkload(json: SynthesizedJson, server?: string): RegistryWorkload {
  const at = (type: string): [string, any] => {
    if (!server && type === 'kubernetes_service_v1') {
      // The monitoring's headless metrics Services select the same pods: the registry's Service is the other one.
      const services = Object.fromEntries(Object.entries(json.resource[type] ?? {}).filter(([, s]) => s.metadata?.labels?.[METRICS_SERVICE_LABEL] !== 'true'));
      return onlyOf({ resource: { [type]: services } }, type);
    }
    if (!server) return onlyOf(json, type);
    const found = address(json, type, `${server}/${type === 'kubernetes_service_v1' ? 'service' : 'deployment'}`);
    return [found, resourceAt(json, found)];
  };
  const [deploymentAddress, deployment] = at('kubernetes_deployment_v1');
  const podSpec = deployment.spec.template.spec;
  const container = podSpec.container.find((c: any) => c.name === 'registry');
  if (!container) throw new Error('the Deployment has no container named registry');
  const args: string[] = container.args;
  const mounts: VolumeMount[] = container.volume_mount;
  const volumes: any[] = podSpec.volume;
  const configMount = mounts.find((m) => m.mount_path === args[1]);
  if (!configMount?.sub_path) throw new Error(`the config file ${args[1]} is not a subPath mount`);
  const configVolume = volumes.find((v) => v.name === configMount.name);
  const configMap = resourceAt(json, referencedAddress(configVolume.config_map.name));
  const configYaml: string = configMap.data[configMount.sub_path];
  const [serviceAddress, service] = at('kubernetes_service_v1');
  const frontContainer = podSpec.container.find((c: any) => c.name === 'front');
  let front: FrontWorkload | undefined;
  if (frontContainer) {
    // `sh -c "sh <watcher> & exec nginx ... -c <nginx.conf> ..."` (lib/registry/front.ts frontCommand)
    const configPath = / -c (\/\S+)/.exec(frontContainer.command[2] ?? '')?.[1];
    if (frontContainer.command[0] !== 'sh' || !configPath) throw new Error(`the front's command names no nginx.conf: ${JSON.stringify(frontContainer.command)}`);
    const frontMounts: VolumeMount[] = frontContainer.volume_mount;
    const confMount = frontMounts.find((m) => configPath.startsWith(`${m.mount_path}/`));
    if (!confMount) throw new Error(`the front's config ${configPath} is on no volume mount`);
    const confVolume = volumes.find((v) => v.name === confMount.name);
    const nginxConf: string = resourceAt(json, referencedAddress(confVolume.config_map.name)).data[configPath.slice(confMount.mount_path.length + 1)];
    front = { container: frontContainer, mounts: frontMounts, configPath, nginxConf };
  }
  const ports = (c: any) => Object.fromEntries((c?.port ?? []).map((p: any) => [p.name, p.container_port]));
  return {
    deploymentAddress,
    namespaceExpression: deployment.metadata.namespace,
    container,
    volumes,
    mounts,
    args,
    configYaml,
    config: parse(configYaml),
    serviceAddress,
    service,
    containerPorts: { ...ports(frontContainer), ...ports(container) },
    front,
  };
}

/** The ingress-nginx TCP route from the synthesized Helm values, with `${var.external_port}` resolved. */
export interface TcpRoute {
  readonly externalPort: number;
  readonly namespaceExpression: string;
  readonly serviceAddress: string;
  readonly port: number;
  /** The raw `<ns>/<svc>:<port>` value. */
  readonly target: string;
}

export function tcpRouteFromValues(json: SynthesizedJson): TcpRoute {
  const [, release] = onlyOf(json, 'helm_release');
  const routes = Object.entries((parse(release.values[0]) as { tcp: Record<string, string> }).tcp);
  if (routes.length !== 1) throw new Error(`expected one tcp route in the Helm values, found ${routes.length}`);
  const [key, target] = routes[0];
  const match = /^(\$\{[^}]+\})\/(\$\{[^}]+\}):(\d+)$/.exec(target);
  if (!match) throw new Error(`tcp route is not <ns>/<svc>:<port>: ${target}`);
  return {
    externalPort: Number(resolveVariable(json, key)),
    namespaceExpression: match[1],
    serviceAddress: referencedAddress(match[2]),
    port: Number(match[3]),
    target,
  };
}

/** The registry pod laid out on the host. */
export interface LocalPod {
  /** Host directory standing in for each volume, by volume name. */
  readonly volumeDirs: Record<string, string>;
  /** Host path of the config file the container's args name. */
  readonly configPath: string;
  /** config key path (`http.tls.certificate`) -> in-container path, for every config value under a volume mount. */
  readonly mountedConfigPaths: Record<string, string>;
  /** REGISTRY_* overrides for those values (host paths) and for the two listen addresses (free loopback ports). */
  readonly overrides: Record<string, string>;
  /** The container's env, resolved from `LocalSecrets`. */
  readonly containerEnv: Record<string, string>;
  /** containerEnv + overrides: what the registry process gets. */
  readonly env: Record<string, string>;
  /** Maps an in-container path to the host path through the volume mounts. */
  hostPath(containerPath: string): string;
}

/** `storage.filesystem.rootdirectory` -> `REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY` (distribution's override scheme). */
export function overrideName(keyPath: string): string {
  return `REGISTRY_${keyPath.replace(/\./g, '_').toUpperCase()}`;
}

function stringLeaves(value: unknown, prefix: string[] = []): Array<[string, string]> {
  if (typeof value === 'string') return [[prefix.join('.'), value]];
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...prefix, k]));
  }
  return [];
}

function secretData(secrets: LocalSecrets, nameExpression: string): Record<string, string> {
  const address = referencedAddress(nameExpression);
  const data = secrets[address];
  if (!data) throw new Error(`no local stand-in for ${address}`);
  return data;
}

async function writeVolume(json: SynthesizedJson, volume: any, dir: string, secrets: LocalSecrets, evaluated: EvaluatedExpressions): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const configMapData = (name: string) => Object.fromEntries(Object.entries<string>(resourceAt(json, referencedAddress(name)).data)
    .map(([key, value]) => [key, valueOf(value, evaluated, `ConfigMap ${name} key ${key}`)]));
  const source = volume.config_map
    ? { data: configMapData(volume.config_map.name), spec: volume.config_map }
    : volume.secret
      ? { data: secretData(secrets, volume.secret.secret_name), spec: volume.secret }
      : undefined;
  if (!source) return; // claim or emptyDir: an empty directory
  const items: Array<{ key: string; path: string }> = source.spec.items ?? Object.keys(source.data).map((key) => ({ key, path: key }));
  const mode = source.spec.default_mode ? parseInt(source.spec.default_mode, 8) : 0o644;
  for (const item of items) {
    if (!(item.key in source.data)) throw new Error(`volume ${volume.name}: key ${item.key} is not in its source`);
    await fs.writeFile(path.join(dir, item.path), source.data[item.key], { mode });
  }
}

/**
 * Lays out the Deployment's volumes under `dir` and computes the registry's environment. `listen` gives the loopback
 * ports replacing `http.addr` and `http.debug.addr` (the pod's `:5000`/`:5001` would listen on every interface).
 */
export async function prepareLocalPod(
  json: SynthesizedJson,
  dir: string,
  secrets: LocalSecrets,
  listen: { port: number; debugPort: number },
  evaluated: EvaluatedExpressions = {},
  server?: string,
): Promise<LocalPod> {
  const workload = registryWorkload(json, server);
  // A bare variable reference (`${var.otel_traces_exporter}`) takes the variable's default unless given.
  evaluated = { ...variableDefaults(json), ...evaluated };
  const volumeDirs: Record<string, string> = {};
  // The front's grants file is a Terraform expression over the role variables: a caller that runs the registry
  // binary alone (a GC Job) need not evaluate it, so other containers' ConfigMaps are laid out only when evaluated.
  const registryVolumes = new Set(workload.mounts.map((m) => m.name));
  const evaluatedFully = (volume: any) => !volume.config_map
    || Object.values<string>(resourceAt(json, referencedAddress(volume.config_map.name)).data).every((v) => !isExpression(v) || v in evaluated);
  for (const volume of workload.volumes) {
    volumeDirs[volume.name] = path.join(dir, 'volumes', volume.name);
    if (!registryVolumes.has(volume.name) && !evaluatedFully(volume)) continue;
    await writeVolume(json, volume, volumeDirs[volume.name], secrets, evaluated);
  }
  const mountOf = (containerPath: string): VolumeMount | undefined =>
    workload.mounts.find((m) =>
      m.sub_path !== undefined ? containerPath === m.mount_path : containerPath === m.mount_path || containerPath.startsWith(`${m.mount_path}/`));
  const hostPath = (containerPath: string): string => {
    const mount = mountOf(containerPath);
    if (!mount) throw new Error(`${containerPath} is on no volume mount of the registry container`);
    return mount.sub_path !== undefined
      ? path.join(volumeDirs[mount.name], mount.sub_path)
      : path.join(volumeDirs[mount.name], containerPath.slice(mount.mount_path.length));
  };
  // Config values naming files or directories on a volume (not `/metrics`, a URL path).
  const mountedConfigPaths = Object.fromEntries(stringLeaves(workload.config).filter(([, value]) => mountOf(value) !== undefined));
  const overrides: Record<string, string> = {
    ...Object.fromEntries(Object.entries(mountedConfigPaths).map(([key, value]) => [overrideName(key), hostPath(value)])),
    [overrideName('http.addr')]: `127.0.0.1:${listen.port}`,
    [overrideName('http.debug.addr')]: `127.0.0.1:${listen.debugPort}`,
  };
  const containerEnv: Record<string, string> = {};
  for (const entry of workload.container.env ?? []) {
    const ref = entry.value_from?.secret_key_ref;
    const value = ref ? secretData(secrets, ref.name)[ref.key] : entry.value === undefined ? undefined : valueOf(entry.value, evaluated, `env ${entry.name}`);
    if (value === undefined) throw new Error(`env ${entry.name}: no value${ref ? ` for key ${ref.key}` : ''}`);
    containerEnv[entry.name] = value;
  }
  // Other env naming directories on a volume (SSL_CERT_DIR, a colon-separated list): those items re-pointed too.
  for (const [name, value] of Object.entries(containerEnv)) {
    if (name.startsWith('REGISTRY_') || !value.startsWith('/')) continue;
    const items = value.split(':');
    if (items.some((item) => mountOf(item) !== undefined)) {
      overrides[name] = items.map((item) => (mountOf(item) ? hostPath(item) : item)).join(':');
    }
  }
  return {
    volumeDirs,
    configPath: hostPath(workload.args[1]),
    mountedConfigPaths,
    overrides,
    containerEnv,
    env: { ...containerEnv, ...overrides },
    hostPath,
  };
}
