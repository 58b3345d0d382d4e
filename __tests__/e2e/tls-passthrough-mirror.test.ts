/**
 * The pull-through cache behind the stack's Gateway, on a real data plane (example-gateway: example-gateway with the
 * cache). As in tls-passthrough.test.ts, nginx stream + `ssl_preread` (NGINX Gateway Fabric's TLSRoute data plane) is
 * programmed from what the stack synthesizes, evaluated by terraform (harness/gateway-objects.ts): here one nginx per
 * listener port, each routing the hostnames of the routes pinned (`sectionName`) to that port's listeners. Behind
 * them run the real registry and the real cache, both started from the same stack's Deployments, the cache proxying a
 * local upstream registry. Clients use the names the route lists, at the two ports: registry-check by the registry's
 * port, skopeo pulls through the cache's port with the machine credential node trust sends.
 *
 * Name resolution as in tls-passthrough.test.ts: registry-check resolves the names in-process, skopeo goes through a
 * loopback CONNECT proxy; nothing outside 127.0.0.1 is reached.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pushImage } from '../../lib/check/blobs';
import { RegistryClient } from '../../lib/check/client';
import { STEP_NAMES } from '../../lib/check/steps';
import { MIRROR_PULL_USER } from '../../lib/operations/mirror';
import { REGISTRY_PORT } from '../../lib/registry/config';
import { gatewayObjects, type GatewayObjects } from '../../harness/gateway-objects';
import { address, synthesized, type Synthesized } from '../../harness/json';
import { execFileAsync, freePort, htpasswdEntry, minimalConfig, startRegistry, tempDir, useCleanup, type RegistryProcess } from '../../harness/programs';
import { type ConnectProxy, startConnectProxy } from '../../harness/programs/connect-proxy';
import { prepareLocalPod, registryWorkload } from '../../harness/programs/pod';
import { resolveNamesLocally } from '../../harness/programs/resolve';
import { type StackRegistry, startStackRegistry } from '../../harness/programs/stack-registry';
import { evaluateStackValueVariants } from '../../harness/programs/stack-values';
import { readAccessLog, type SniProxyProcess, type SniRoute, startSniProxy } from '../../harness/programs/tls-passthrough';
import { runCli } from '../check/scenario';

/**
 * What a Gateway implementation programs per listener port: the routes attached to that port's listeners (by
 * `sectionName`: each route here names its listeners), their hostnames that match a listener hostname, to the
 * route's backend. Throws when a route names a listener the Gateway does not have, or listeners on two ports.
 */
function dataPlanePorts(objects: GatewayObjects, backendOf: (ref: { name: string; port: number }) => string): Map<number, SniRoute[]> {
  const listeners: any[] = objects.gateway.spec.listeners;
  const byName = new Map(listeners.map((l) => [l.name, l]));
  const ports = new Map<number, SniRoute[]>();
  for (const route of [objects.tlsRoute, ...objects.additionalTlsRoutes]) {
    const attached = route.spec.parentRefs.map((ref: any) => {
      if (ref.name !== objects.gateway.metadata.name || ref.namespace !== objects.gateway.metadata.namespace) throw new Error(`${route.metadata.name} is not attached to the created Gateway`);
      if (ref.sectionName === undefined) throw new Error(`${route.metadata.name} names no listener: it would attach to every port`);
      const listener = byName.get(ref.sectionName);
      if (!listener) throw new Error(`${route.metadata.name} names listener ${ref.sectionName}, which the Gateway does not have`);
      return listener;
    }).filter((l: any) => l.protocol === 'TLS' && l.tls?.mode === 'Passthrough' &&
      l.allowedRoutes.namespaces.selector.matchLabels['kubernetes.io/metadata.name'] === route.metadata.namespace);
    const routePorts: number[] = [...new Set<number>(attached.map((l: any) => l.port))];
    if (routePorts.length !== 1) throw new Error(`${route.metadata.name} is on ports ${routePorts.join(', ')}; expected one`);
    const hostnames: string[] = route.spec.hostnames.filter((h: string) => attached.some((l: any) => l.hostname === h));
    ports.set(routePorts[0], [...(ports.get(routePorts[0]) ?? []), { hostnames, backend: backendOf(route.spec.rules[0].backendRefs[0]) }]);
  }
  return ports;
}

describe('the synthesized Gateway routes with the cache (example-gateway) on nginx ssl_preread, in front of the real registry and cache', () => {
  const cleanup = useCleanup();
  let json: Synthesized;
  let objects: GatewayObjects;
  let stack: StackRegistry;
  let upstream: RegistryProcess;
  let mirror: RegistryProcess;
  let dir: string;
  let digest: string;
  let names: string[];
  let ports: Map<number, SniRoute[]>;
  /** Listener port -> the nginx standing in for it (on a free loopback port). */
  const proxies = new Map<number, SniProxyProcess>();
  let connect: ConnectProxy;
  const pullPassword = randomBytes(16).toString('hex');
  let registryPort: number;
  let mirrorPort: number;

  beforeAll(async () => {
    json = synthesized('example-gateway');
    stack = await startStackRegistry(cleanup, json, { server: 'registry' });
    dir = await tempDir(cleanup, 'example-gateway-');
    objects = await gatewayObjects(json, path.join(dir, 'objects'));
    registryPort = json.variable.gateway_port.default;
    mirrorPort = json.variable.mirror_external_port.default;

    // An upstream (TLS from the stack's CA) holding library/nginx:1.27, for the cache to proxy.
    const upDir = path.join(dir, 'upstream');
    await fs.mkdir(upDir);
    const upPort = await freePort();
    upstream = await startRegistry(cleanup, { dir: upDir, port: upPort, caPem: stack.tls.caPem, config: minimalConfig(upDir, upPort, { tls: stack.tls, deletes: false }) });
    const upClient = new RegistryClient({ host: '127.0.0.1', port: upPort, caPem: stack.tls.caPem });
    cleanup.add(() => upClient.close());
    digest = (await pushImage(upClient, 'library/nginx', '1.27')).manifestDigest;

    // The cache as synthesized: its env and secrets evaluated by terraform, its own htpasswd (the machine user).
    const { anonymous } = await evaluateStackValueVariants(json, path.join(dir, 'tf'), {
      anonymous: { mirror_remote_url: `https://${upstream.address}`, mirror_ttl: '168h', mirror_username: '', mirror_password: '' },
    }, 'mirror/server');
    const secrets = {
      ...stack.secrets,
      [address(json, 'kubernetes_secret_v1', 'mirror/htpasswd')]: { htpasswd: `${await htpasswdEntry(MIRROR_PULL_USER, pullPassword)}\n` },
      ...anonymous.secrets,
    };
    const port = await freePort();
    const pod = await prepareLocalPod(json, path.join(dir, 'mirror'), secrets, { port, debugPort: await freePort() }, anonymous.evaluated, 'mirror/server');
    mirror = await startRegistry(cleanup, {
      dir: path.join(dir, 'mirror'), port, caPem: stack.tls.caPem, config: registryWorkload(json, 'mirror/server').configYaml,
      configPath: pod.configPath, env: { ...pod.env, SSL_CERT_FILE: stack.tls.caCertPath },
    });

    // The Services the routes may name, by their configured names: the registry's and the cache's, port 5000 each.
    const appName = json.variable.app_name.default;
    const services: Record<string, string> = { [`${appName}:${REGISTRY_PORT}`]: `127.0.0.1:${stack.port}`, [`${appName}-mirror:${REGISTRY_PORT}`]: `127.0.0.1:${mirror.port}` };
    ports = dataPlanePorts(objects, (ref) => {
      const backend = services[`${ref.name}:${ref.port}`];
      if (!backend) throw new Error(`the route's backend ${ref.name}:${ref.port} is neither the registry's Service nor the cache's`);
      return backend;
    });
    names = [...objects.tlsRoute.spec.hostnames];
    for (const [listenerPort, routes] of ports) {
      proxies.set(listenerPort, await startSniProxy(cleanup, path.join(dir, `sni-${listenerPort}`), { listenPort: await freePort(), routes }));
    }
    connect = await startConnectProxy(cleanup, { hosts: Object.fromEntries(names.map((n) => [n, '127.0.0.1'])) });
    resolveNamesLocally(cleanup, Object.fromEntries(names.map((n) => [n, '127.0.0.1'])));
  }, 120_000);

  it('programs exactly what the stack synthesized: the registry on gateway_port, the cache on mirror_external_port, each for every name', () => {
    expect(names).toEqual(json.variable.registry_domains.default);
    expect([registryPort, mirrorPort]).toEqual([5000, 5001]);
    expect(Object.fromEntries(ports)).toEqual({
      [registryPort]: [{ hostnames: names, backend: `127.0.0.1:${stack.port}` }],
      [mirrorPort]: [{ hostnames: names, backend: `127.0.0.1:${mirror.port}` }],
    });
    // Nodes are told to pull through <first name>:<mirror_external_port>: the cache's listener port.
    expect(json.output.mirror_endpoint.value).toBe('${format("%s:%s", element(var.registry_domains, 0), var.mirror_external_port)}');
  });

  it("registry-check passes every step by the registry's port; every connection went to the registry", async () => {
    const proxy = proxies.get(registryPort)!;
    const before = (await readAccessLog(proxy)).length;
    const caFile = path.join(dir, 'registry-ca.crt');
    await fs.writeFile(caFile, stack.tls.caPem);
    const { code, stdout, stderr } = await runCli([`${names[0]}:${proxy.port}`, '--user', stack.user, '--password-stdin', '--ca-file', caFile, '--json'], { stdin: stack.password });
    const result = JSON.parse(stdout);
    expect({ code, stderr, failed: result.steps.filter((step: any) => !step.ok) }).toEqual({ code: 0, stderr: '', failed: [] });
    expect(result.steps.map((step: any) => step.name)).toEqual(STEP_NAMES);
    const entries = (await readAccessLog(proxy)).slice(before);
    expect(entries.length).toBeGreaterThan(0);
    expect(new Set(entries.map((e) => `${e.sni} -> ${e.upstream}`))).toEqual(new Set([`${names[0]} -> 127.0.0.1:${stack.port}`]));
  }, 60_000);

  it("skopeo pulls the upstream image through the cache's port by each name, with the machine credential, TLS verified", async () => {
    const proxy = proxies.get(mirrorPort)!;
    const env = { ...process.env, ...connect.proxyEnv() };
    const before = (await readAccessLog(proxy)).length;
    for (const name of names) {
      const { stdout } = await execFileAsync('skopeo', ['--insecure-policy', 'inspect', '--cert-dir', stack.tls.certDir, '--creds', `${MIRROR_PULL_USER}:${pullPassword}`,
        `docker://${name}:${proxy.port}/library/nginx:1.27`], { env, timeout: 60_000 });
      expect({ name, digest: JSON.parse(stdout).Digest }).toEqual({ name, digest });
    }
    const entries = (await readAccessLog(proxy)).slice(before);
    expect(new Set(entries.map((e) => `${e.sni} -> ${e.upstream}`))).toEqual(new Set(names.map((n) => `${n} -> 127.0.0.1:${mirror.port}`)));
  }, 120_000);

  it("the registry's port does not serve the cache: the machine credential is refused there (the registry's users only)", async () => {
    const proxy = proxies.get(registryPort)!;
    const env = { ...process.env, ...connect.proxyEnv() };
    const failure = await execFileAsync('skopeo', ['--insecure-policy', 'inspect', '--cert-dir', stack.tls.certDir, '--creds', `${MIRROR_PULL_USER}:${pullPassword}`,
      `docker://${names[0]}:${proxy.port}/library/nginx:1.27`], { env, timeout: 60_000 }).then(() => 'pulled', (err) => String(err.stderr ?? err));
    expect(failure).toMatch(/401|unauthorized|authentication required/i);
  }, 60_000);

  it('stops every nginx by PID', async () => {
    for (const proxy of proxies.values()) {
      await proxy.stop();
      expect(() => process.kill(proxy.pid, 0)).toThrow();
    }
  });
});
