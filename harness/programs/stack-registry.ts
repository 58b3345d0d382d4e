/**
 * The registry of a synthesized stack, run for real: local stand-ins for the stack's secrets (TLS material like the
 * tls provider's, htpasswd lines like random_password.bcrypt_hash, a random http secret), the Deployment's volumes
 * laid out by `prepareLocalPod`, `docker-registry` started with the ConfigMap's config.yml, and an nginx stream proxy
 * on the port of the synthesized ingress-nginx tcp route. Not exported from index.ts.
 */
import { randomInt } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { address, resourceAt, Synthesized } from '../json';
import { Cleanup } from './cleanup';
import { htpasswdEntry } from './htpasswd';
import { FrontProcess, startFront } from './front';
import { freePort, tempDir } from './net';
import { NginxStreamProcess, startNginxStream } from './nginx';
import { LocalPod, LocalSecrets, prepareLocalPod, registryWorkload } from './pod';
import { RegistryProcess, startRegistry } from './registry';
import { makeTlsMaterial, TlsMaterial } from './tls';
import { evaluateStackValues, type StackValues } from './stack-values';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Like random_password with `special: false`: letters and digits. */
function randomPassword(length: number): string {
  return Array.from({ length }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join('');
}

function checkedKeys(json: Synthesized, secretAddress: string, data: Record<string, string>): Record<string, string> {
  const synthesized = Object.keys(resourceAt(json, secretAddress).data).sort();
  const local = Object.keys(data).sort();
  if (synthesized.join() !== local.join()) {
    throw new Error(`${secretAddress} holds keys ${synthesized.join(', ')}; the local stand-in has ${local.join(', ')}`);
  }
  return data;
}

export interface StackSecrets {
  readonly secrets: LocalSecrets;
  readonly tls: TlsMaterial;
  /** Generated users (the `registry_users` default, and the pull-secret user when it has a line) and their passwords. */
  readonly users: Record<string, string>;
}

/**
 * A user the stack does not generate, appended to htpasswd for load tests, at its own bcrypt cost. distribution 2.8
 * checks the password of every request while holding one lock, so at the stack's cost 10 (~65 ms of CPU each)
 * concurrent clients mostly queue behind bcrypt; at cost 4 their requests reach storage together.
 */
export interface LoadUser {
  readonly user: string;
  readonly password: string;
  readonly cost: number;
}

/**
 * Local data for the stack's three secrets, keyed by Terraform address and shaped like the synthesized ones (same
 * keys). The leaf certificate names the `registry_domains` default, localhost and 127.0.0.1 (the tests connect there).
 */
export async function stackSecrets(json: Synthesized, dir: string, loadUser?: LoadUser): Promise<StackSecrets> {
  const tls = await makeTlsMaterial(dir, { dnsNames: [...json.variable.registry_domains.default, 'localhost'], ipAddresses: ['127.0.0.1'] });
  const users = Object.fromEntries((json.variable.registry_users.default as string[]).map((u) => [u, randomPassword(32)]));
  // The pull-secret user has an htpasswd line while some namespace gets the pull secret (lib/pull-secrets.ts).
  if ((json.variable.pull_secret_namespaces?.default ?? []).length > 0) users[`${json.variable.app_name.default}-pull`] = randomPassword(32);
  if (loadUser && loadUser.user in users) throw new Error(`load user ${loadUser.user} is one of the stack's users`);
  // The synthesized htpasswd value: one `user:bcrypt_hash` line per generated user, joined by \n, then a final \n.
  const lines = await Promise.all([
    ...Object.entries(users).map(([u, p]) => htpasswdEntry(u, p)),
    ...(loadUser ? [htpasswdEntry(loadUser.user, loadUser.password, loadUser.cost)] : []),
  ]);
  const tlsSecret = address(json, 'kubernetes_secret_v1', 'tls/secret');
  const htpasswdSecret = address(json, 'kubernetes_secret_v1', 'auth/htpasswd');
  const httpSecret = address(json, 'kubernetes_secret_v1', 'auth/http-secret');
  const secrets: LocalSecrets = {
    [tlsSecret]: checkedKeys(json, tlsSecret, { 'tls.crt': tls.certPem, 'tls.key': tls.keyPem, 'ca.crt': tls.caPem }),
    [htpasswdSecret]: checkedKeys(json, htpasswdSecret, { htpasswd: `${lines.join('\n')}\n` }),
    [httpSecret]: checkedKeys(json, httpSecret, { 'http-secret': randomPassword(64) }),
  };
  return { secrets, tls, users };
}

export interface StackRegistry extends StackSecrets {
  readonly dir: string;
  readonly pod: LocalPod;
  /** Where clients connect: the front's TLS port (the registry's own, without a front). */
  readonly port: number;
  /** The authorizing front, when the stack's pod has one: clients reach the registry through it (replaced by `start`). */
  front?: FrontProcess;
  readonly debugPort: number;
  /** The config.yml text from the synthesized ConfigMap. */
  readonly configYaml: string;
  /** The first generated user and its password. */
  readonly user: string;
  readonly password: string;
  /** The running registry (replaced by `restart`). */
  registry: RegistryProcess;
  /** Stops the registry by PID and starts it again with the same config, volumes, env and ports. */
  restart(): Promise<RegistryProcess>;
  /**
   * Starts the registry again after a `registry.stop()`, with `env` over the pod's and the options' env; and the
   * front, when it was stopped too (the whole pod replaced).
   */
  start(env?: Record<string, string>): Promise<RegistryProcess>;
}

export interface StartStackRegistryOptions {
  /** Overrides on top of the pod's env (a short REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL; `undefined` unsets). */
  readonly env?: Record<string, string | undefined>;
  /** An htpasswd line for load tests (see LoadUser); ignored with `material`. */
  readonly loadUser?: LoadUser;
  /**
   * TLS, users and http secret of another replica of the same stack (replicas share their Secrets).
   * @default - new ones
   */
  readonly material?: StackSecrets;
  /**
   * The pod's variable expressions and variable-only Secrets, evaluated (evaluateStackValues).
   * @default - none: the pod must not depend on any
   */
  readonly values?: StackValues;
  /**
   * The RegistryServer construct to run when the stack has several Deployments (`registry` beside `mirror/server`).
   * @default - the stack's only Deployment
   */
  readonly server?: string;
}

/** Runs the synthesized Deployment's registry on loopback. */
export async function startStackRegistry(
  cleanup: Cleanup,
  json: Synthesized,
  { env = {}, loadUser, material: shared, values, server }: StartStackRegistryOptions = {},
): Promise<StackRegistry> {
  const dir = await tempDir(cleanup, 'registry-stack-');
  const [port, debugPort] = [await freePort(), await freePort()];
  const material = shared ?? await stackSecrets(json, path.join(dir, 'tls'), loadUser);
  const { configYaml, front } = registryWorkload(json, server);
  // The front's grants file is a Terraform expression over the role variables: their defaults, unless given.
  const podValues = values ?? (front ? await evaluateStackValues(json, path.join(dir, 'values'), {}, server) : undefined);
  // Behind the front the registry listens on its own loopback port, in plain HTTP.
  const registryPort = front ? await freePort() : port;
  const pod = await prepareLocalPod(json, dir, { ...material.secrets, ...podValues?.secrets }, { port: registryPort, debugPort }, podValues?.evaluated, server);
  const start = (extraEnv: Record<string, string> = {}) =>
    startRegistry(cleanup, {
      dir, config: configYaml, configPath: pod.configPath, port: registryPort, caPem: front ? undefined : material.tls.caPem,
      env: { ...pod.env, ...env, ...extraEnv } as Record<string, string>,
    });
  const registry = await start();
  const startPodFront = () => startFront(cleanup, { front: front!, pod, dir: path.join(dir, 'front'), port, innerPort: registryPort, caPem: material.tls.caPem });
  const frontProcess = front ? await startPodFront() : undefined;
  const [user, password] = Object.entries(material.users)[0];
  const stack: StackRegistry = {
    ...material,
    dir,
    pod,
    port,
    front: frontProcess,
    debugPort,
    configYaml,
    user,
    password,
    registry,
    start: async (extraEnv) => {
      stack.registry = await start(extraEnv);
      if (stack.front?.exited()) stack.front = await startPodFront();
      return stack.registry;
    },
    restart: async () => {
      await stack.registry.stop();
      return stack.start();
    },
  };
  return stack;
}

/** True when nothing listens on 127.0.0.1:`port` and this process may bind it. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * The nginx stream proxy on `preferredPort` (the synthesized external port), or on a free port when that one is taken
 * or not bindable here (say, below 1024 without root); `fellBack` says which happened.
 */
export async function startProxy(
  cleanup: Cleanup,
  dir: string,
  preferredPort: number,
  upstreamPort: number,
): Promise<{ nginx: NginxStreamProcess; fellBack: boolean }> {
  const fellBack = !(await portIsFree(preferredPort));
  const port = fellBack ? await freePort() : preferredPort;
  const nginx = await startNginxStream(cleanup, { dir: path.join(dir, 'nginx'), port, upstreamPort });
  return { nginx, fellBack };
}

/** `terraform show -json` of an applied state, as TerraformStack.state() returns it. */
interface AppliedState {
  values: { outputs?: Record<string, { value: any }>; root_module: { resources: Array<{ address: string; type: string; values: any }> } };
}

/**
 * Pairs every Terraform expression of the synthesized configuration with the value Terraform applied for it: the
 * synthesized resource and its state are walked side by side (a block that cdktf writes as an object is a list of one
 * in state). Escaped literal text (`$${`) pairs with the text Terraform made of it.
 */
function appliedValues(config: unknown, state: unknown, out: Record<string, string>): void {
  if (typeof config === 'string') {
    if (config.includes('${') && typeof state === 'string') out[config] = state;
  } else if (Array.isArray(config)) {
    config.forEach((c, i) => appliedValues(c, Array.isArray(state) ? state[i] : undefined, out));
  } else if (config && typeof config === 'object') {
    const s = Array.isArray(state) && state.length === 1 ? state[0] : state;
    if (s && typeof s === 'object') for (const [k, v] of Object.entries(config)) appliedValues(v, (s as Record<string, unknown>)[k], out);
  }
}

/**
 * The stack's secrets and pod values exactly as Terraform applied them (the stand-in providers: TLS from the tls
 * provider, htpasswd lines from random_password's bcrypt_hash, config.yml and env as Terraform sends them), for
 * `startStackRegistry(..., { material, values })`. No local stand-in and no re-evaluated expression.
 */
export async function stackMaterialFromState(json: Synthesized, state: AppliedState, dir: string): Promise<{ material: StackSecrets; values: StackValues }> {
  const resources = state.values.root_module.resources;
  const secrets: LocalSecrets = Object.fromEntries(resources.filter((r) => r.type === 'kubernetes_secret_v1').map((r) => [r.address, r.values.data]));
  const evaluated: Record<string, string> = {};
  for (const r of resources) {
    const [type, id] = r.address.split('.');
    const config = json.resource[type]?.[id];
    if (config) appliedValues(config, r.values, evaluated);
  }
  const tlsData = secrets[address(json, 'kubernetes_secret_v1', 'tls/secret')];
  const certDir = path.join(dir, 'certs');
  await fs.mkdir(certDir, { recursive: true });
  const file = async (name: string, text: string) => {
    await fs.writeFile(path.join(dir, name), text, { mode: 0o600 });
    return path.join(dir, name);
  };
  await fs.writeFile(path.join(certDir, 'ca.crt'), tlsData['ca.crt']);
  const tls: TlsMaterial = {
    caCertPath: await file('ca.crt', tlsData['ca.crt']),
    caKeyPath: '', // the CA key stays in Terraform's state: nothing here signs with it
    certPath: await file('tls.crt', tlsData['tls.crt']),
    keyPath: await file('tls.key', tlsData['tls.key']),
    certDir,
    caPem: tlsData['ca.crt'],
    certPem: tlsData['tls.crt'],
    keyPem: tlsData['tls.key'],
  };
  const users = state.values.outputs?.registry_passwords?.value ?? {};
  return { material: { secrets, tls, users }, values: { evaluated, secrets } };
}
