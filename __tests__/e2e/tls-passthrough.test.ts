/**
 * The stack's Gateway API route on a real data plane. NGINX Gateway Fabric implements TLSRoute passthrough with nginx's
 * stream module: `ssl_preread` reads the ClientHello's SNI and a map picks the backend (harness/programs/tls-passthrough.ts).
 * This test READS what the gateway-create stack (example-gateway without the cache) synthesizes (the TLSRoute and Gateway in its helm_release values,
 * evaluated by terraform: harness/gateway-objects.ts), programs that data plane with exactly that routing (the route's
 * hostnames on the listeners' hostnames, to the backend Service and port; the listener port is read and checked, and a
 * free loopback port stands in for it) and puts it in front of the real registry started from the same stack's config
 * (harness/programs/stack-registry.ts), which terminates TLS itself.
 *
 * Name resolution: node clients connect to 127.0.0.1 and send the name as `servername`; registry-check runs in-process
 * with `dns.lookup` answering the route's names with 127.0.0.1 (harness/programs/resolve.ts); skopeo goes through a
 * loopback CONNECT proxy that maps the names to 127.0.0.1 (harness/programs/connect-proxy.ts). DNS is never asked and
 * /etc/hosts is not touched; TLS (SNI + verification against the CA) is end to end between client and registry.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as https from 'node:https';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { pullImage } from '../../lib/check/blobs';
import { RegistryClient } from '../../lib/check/client';
import { imageConfig, imageManifest, MEDIA_TYPES, probeLayer, sha256Digest } from '../../lib/check/oci';
import { STEP_NAMES } from '../../lib/check/steps';
import { REGISTRY_PORT } from '../../lib/registry/config';
import { gatewayObjects, type GatewayObjects } from '../../harness/gateway-objects';
import { address, resolveVariable, resourceAt, synthesized, Synthesized } from '../../harness/json';
import { execFileAsync, freePort, tcpAccepts, useCleanup, waitFor } from '../../harness/programs';
import { ConnectProxy, startConnectProxy } from '../../harness/programs/connect-proxy';
import { resolveNamesLocally } from '../../harness/programs/resolve';
import { StackRegistry, startStackRegistry } from '../../harness/programs/stack-registry';
import { readAccessLog, SniLogEntry, sniProxyConfig, SniProxyProcess, SniRoute, startSniProxy } from '../../harness/programs/tls-passthrough';
import { runCli } from '../check/scenario';

const WILDCARD = '*.wild.example.internal';

interface Attempt {
  /** The TLS handshake completed. */
  readonly handshake: boolean;
  /** SHA-256 fingerprint of the certificate the server presented. */
  readonly peer?: string;
  readonly error?: string;
}

/** Opens TLS to 127.0.0.1:`port` with `servername` as SNI (none when undefined), and closes once it knows. */
function tlsAttempt(port: number, servername: string | undefined): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TLS to ${port} (SNI ${servername ?? 'none'}): neither handshake nor close in 5 s`));
    }, 5_000);
    const done = (a: Attempt) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(a);
    };
    socket.once('secureConnect', () => done({ handshake: true, peer: socket.getPeerCertificate().fingerprint256 }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ handshake: false, error: err.code ?? err.message }));
    socket.once('close', () => done({ handshake: false, error: 'closed' }));
  });
}

/** GET / through the proxy over verified TLS, SNI `servername`, connecting to 127.0.0.1 (no DNS). */
function getRoot(port: number, servername: string, ca: string): Promise<{ status: number; authorized: boolean; cert: tls.DetailedPeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, servername, ca, path: '/', agent: false }, (res) => {
      const socket = res.socket as tls.TLSSocket;
      const result = { status: res.statusCode ?? 0, authorized: socket.authorized, cert: socket.getPeerCertificate(true) };
      res.resume();
      res.once('end', () => resolve(result));
    });
    req.once('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error('GET / through the SNI proxy: no answer in 5 s')));
  });
}

/** A one-layer OCI image in skopeo's `dir:` layout; returns its manifest digest. */
async function writeDirImage(dir: string): Promise<string> {
  const layer = probeLayer();
  const config = imageConfig([layer.diffId]);
  const configDescriptor = { mediaType: MEDIA_TYPES.config, digest: sha256Digest(config), size: config.length };
  const manifest = imageManifest(configDescriptor, [layer.descriptor]);
  await fs.mkdir(dir, { recursive: true });
  const hex = (digest: string) => digest.replace(/^sha256:/, '');
  await Promise.all([
    fs.writeFile(path.join(dir, 'version'), 'Directory Transport Version: 1.1\n'),
    fs.writeFile(path.join(dir, 'manifest.json'), manifest),
    fs.writeFile(path.join(dir, hex(configDescriptor.digest)), config),
    fs.writeFile(path.join(dir, hex(layer.descriptor.digest)), layer.bytes),
  ]);
  return sha256Digest(manifest);
}

/**
 * What a Gateway implementation programs from the objects: for each listener (port, hostname), the route hostnames that
 * match its hostname, to the route's backend. The stack's names are exact DNS names (the variable rules forbid
 * wildcards), so matching is equality; a listener without a hostname would take all of them.
 */
function dataPlaneRoutes(objects: GatewayObjects, backendOf: (ref: { name: string; port: number }) => string): { port: number; routes: SniRoute[] } {
  const listeners: any[] = objects.gateway.spec.listeners;
  const ports = [...new Set(listeners.map((l) => l.port))];
  if (ports.length !== 1) throw new Error(`expected one listener port, got ${ports.join(', ')}`);
  const route = objects.tlsRoute;
  const [parent] = route.spec.parentRefs;
  if (parent.name !== objects.gateway.metadata.name || parent.namespace !== objects.gateway.metadata.namespace) throw new Error('the route is not attached to the created Gateway');
  const admitted = listeners.filter((l) => l.protocol === 'TLS' && l.tls?.mode === 'Passthrough' &&
    l.allowedRoutes.namespaces.selector.matchLabels['kubernetes.io/metadata.name'] === route.metadata.namespace);
  const hostnames: string[] = route.spec.hostnames.filter((h: string) => admitted.some((l) => l.hostname === undefined || l.hostname === h));
  const [rule] = route.spec.rules;
  return { port: ports[0], routes: [{ hostnames, backend: backendOf(rule.backendRefs[0]) }] };
}

describe('the synthesized Gateway route (gateway-create) on nginx stream + ssl_preread, in front of the real registry', () => {
  const cleanup = useCleanup();
  let json: Synthesized;
  let objects: GatewayObjects;
  let stack: StackRegistry;
  let proxy: SniProxyProcess;
  let connect: ConnectProxy;
  let registryCert: X509Certificate;
  let routes: SniRoute[];
  let listenerPort: number;
  let names: string[];
  const backend = () => `127.0.0.1:${stack.port}`;
  /** Waits for the access log to hold `n` entries more than `before`, and returns the new ones. */
  const newLogEntries = async (before: number, n: number): Promise<SniLogEntry[]> => {
    let entries: SniLogEntry[] = [];
    await waitFor(`${n} new access log entries`, async () => (entries = await readAccessLog(proxy)).length >= before + n, { timeoutMs: 10_000 });
    return entries.slice(before);
  };

  beforeAll(async () => {
    json = synthesized('gateway-create');
    stack = await startStackRegistry(cleanup, json);
    objects = await gatewayObjects(json, path.join(stack.dir, 'terraform'));
    registryCert = new X509Certificate(stack.tls.certPem);
    // The one Service the route may name: the registry's, by its configured name, namespace and port. Locally its pod
    // listens on 127.0.0.1:<stack.port> (the container port, remapped).
    const service = resourceAt(json, address(json, 'kubernetes_service_v1', 'registry/service'));
    const namespace = resolveVariable(json, resourceAt(json, 'kubernetes_namespace_v1.namespace').metadata.name);
    const serviceKey = `${namespace}/${resolveVariable(json, service.metadata.name)}:${service.spec.port[0].port}`;
    const backendOf = (ref: { name: string; port: number }) => {
      const key = `${objects.tlsRoute.metadata.namespace}/${ref.name}:${ref.port}`;
      if (key !== serviceKey) throw new Error(`the route's backend ${key} is not the registry Service ${serviceKey}`);
      return backend();
    };
    ({ port: listenerPort, routes } = dataPlaneRoutes(objects, backendOf));
    names = [...routes[0].hostnames];
    // The listener's port (gateway_port) is checked below; the proxy stands in for it on a free loopback port, since
    // test files run in parallel and registry.test.ts reaches for 5000 too (a check-then-bind race would be flaky).
    proxy = await startSniProxy(cleanup, path.join(stack.dir, 'sni'), { listenPort: await freePort(), routes });
    connect = await startConnectProxy(cleanup, { hosts: Object.fromEntries(names.map((n) => [n, '127.0.0.1'])) });
    resolveNamesLocally(cleanup, Object.fromEntries(names.map((n) => [n, '127.0.0.1'])));
  }, 30_000);

  it('routes exactly what the stack synthesized: its names, from the listener port, to the registry Service', () => {
    expect(names).toEqual(json.variable.registry_domains.default);
    expect(names).toEqual(['registry.example.internal', 'registry.gateway.example.internal']);
    // Clients use <name>:<listener port>: the endpoint output's port is the one the Gateway listens on.
    expect(listenerPort).toBe(json.variable.gateway_port.default);
    // (no port on 443, as image references write it: __tests__/unit/image-hosts.test.ts)
    expect(json.output.registry_endpoint.value).toBe('${element(var.registry_domains, 0)}${var.gateway_port == 443 ? "" : ":${var.gateway_port}"}');
    expect(objects.tlsRoute.spec.rules[0].backendRefs).toEqual([{ name: 'registry', port: REGISTRY_PORT }]);
    for (const name of names) expect(registryCert.checkHost(name)).toBe(name);
    const conf = readFileSync(proxy.confPath, 'utf8');
    expect(conf).toContain('ssl_preread on;');
    expect(conf).toContain(`upstream backend_0 { server ${backend()}; }`);
    expect(conf).toContain([
      'map $ssl_preread_server_name $tls_backend {',
      '    hostnames;',
      `    default ${proxy.closedAddress};`,
      ...names.map((n) => `    ${n} backend_0;`),
      '  }',
    ].join('\n'));
  });

  it('each route hostname reaches the registry through the proxy: verified TLS with the registry\'s own certificate, GET / 200', async () => {
    const before = (await readAccessLog(proxy)).length;
    for (const name of names) {
      const res = await getRoot(proxy.port, name, stack.tls.caPem);
      expect({ name, status: res.status, authorized: res.authorized }).toEqual({ name, status: 200, authorized: true });
      expect(res.cert.fingerprint256).toBe(registryCert.fingerprint256);
      expect(tls.checkServerIdentity(name, res.cert)).toBeUndefined();
    }
    expect(await newLogEntries(before, names.length)).toEqual(names.map((sni) => ({ sni, upstream: backend(), status: 200 })));
  });

  it(`registry-check passes every step by the endpoint name (<first domain>:<listener port>), as the login_commands output runs it`, async () => {
    const before = (await readAccessLog(proxy)).length;
    const caFile = path.join(stack.dir, 'registry-ca.crt');
    await fs.writeFile(caFile, stack.tls.caPem);
    const target = `${names[0]}:${proxy.port}`;
    const { code, stdout, stderr } = await runCli([target, '--user', stack.user, '--password-stdin', '--ca-file', caFile, '--json'], { stdin: stack.password });
    const result = JSON.parse(stdout);
    expect({ code, stderr, failed: result.steps.filter((step: any) => !step.ok) }).toEqual({ code: 0, stderr: '', failed: [] });
    expect(result.steps.map((step: any) => step.name)).toEqual(STEP_NAMES);
    expect(result.steps[0].detail).toContain(`certificate trusted and names ${names[0]}`);
    // Every connection it made went through the route, by its name.
    const entries = (await readAccessLog(proxy)).slice(before);
    expect(entries.length).toBeGreaterThan(0);
    expect(new Set(entries.map((e) => `${e.sni} -> ${e.upstream}`))).toEqual(new Set([`${names[0]} -> ${backend()}`]));
  }, 20_000);

  it(`skopeo pushes and pulls by the second name through the proxy, TLS verified against the CA`, async () => {
    const name = names[1];
    expect(await fs.readFile('/etc/hosts', 'utf8')).not.toContain(name);
    const ref = `docker://${name}:${proxy.port}/e2e/gateway:v1`;
    const env = { ...process.env, ...connect.proxyEnv() };
    const auth = ['--cert-dir', stack.tls.certDir, '--creds', `${stack.user}:${stack.password}`];
    const skopeoCopy = async (direction: 'src' | 'dest', src: string, dest: string) => {
      const digestFile = path.join(stack.dir, `digest-${direction}`);
      const args = auth.map((a) => (a.startsWith('--') ? `--${direction}-${a.slice(2)}` : a));
      await execFileAsync('skopeo', ['--insecure-policy', 'copy', '--digestfile', digestFile, ...args, src, dest], { env });
      return (await fs.readFile(digestFile, 'utf8')).trim();
    };
    const source = path.join(stack.dir, 'image-src');
    const digest = await writeDirImage(source);
    const before = (await readAccessLog(proxy)).length;

    await expect(skopeoCopy('dest', `dir:${source}`, ref)).resolves.toBe(digest);
    const pulled = path.join(stack.dir, 'image-pulled');
    await expect(skopeoCopy('src', ref, `dir:${pulled}`)).resolves.toBe(digest);
    await expect(fs.readFile(path.join(pulled, 'manifest.json'))).resolves.toEqual(await fs.readFile(path.join(source, 'manifest.json')));

    // Every tunnel skopeo asked for was to the name, and nginx routed each of them by that SNI to the registry.
    expect(new Set(connect.requests.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify({ target: `${name}:${proxy.port}`, allowed: true })]));
    const entries = (await readAccessLog(proxy)).slice(before);
    expect(entries.length).toBeGreaterThan(0);
    expect(new Set(entries.map((e) => `${e.sni} -> ${e.upstream}`))).toEqual(new Set([`${name} -> ${backend()}`]));
    // The image is in the registry itself (read directly, not through the proxy).
    const direct = new RegistryClient({ host: '127.0.0.1', port: stack.port, username: stack.user, password: stack.password, caPem: stack.tls.caPem });
    cleanup.add(() => direct.close());
    await expect(pullImage(direct, 'e2e/gateway', 'v1', digest)).resolves.toMatchObject({ digest });
  }, 20_000);

  it('refuses an SNI the route does not list, even one the registry certificate names (localhost): closed, no TLS handshake', async () => {
    expect(registryCert.checkHost('localhost')).toBe('localhost');
    const before = (await readAccessLog(proxy)).length;
    await expect(tlsAttempt(proxy.port, 'other.example.internal')).resolves.toMatchObject({ handshake: false });
    await expect(tlsAttempt(proxy.port, 'localhost')).resolves.toMatchObject({ handshake: false });
    expect(await newLogEntries(before, 2)).toMatchObject([
      { sni: 'other.example.internal', upstream: proxy.closedAddress },
      { sni: 'localhost', upstream: proxy.closedAddress },
    ]);
  });

  it('refuses a ClientHello without SNI (a client connecting by IP), and bytes that are not TLS at all', async () => {
    const before = (await readAccessLog(proxy)).length;
    // Node sends no SNI when connecting to an IP address without a servername.
    await expect(tlsAttempt(proxy.port, undefined)).resolves.toMatchObject({ handshake: false });
    const { stdout } = await execFileAsync('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', `http://${proxy.address}/v2/`]).catch((err) => err);
    expect(stdout).toBe('000');
    // nginx logs an unset $ssl_preread_server_name (no ClientHello at all) as "-".
    expect(await newLogEntries(before, 2)).toMatchObject([
      { sni: '', upstream: proxy.closedAddress },
      { sni: '-', upstream: proxy.closedAddress },
    ]);
  });

  it('stops by PID: the nginx master is gone and the port refuses connections', async () => {
    await proxy.stop();
    expect(() => process.kill(proxy.pid, 0)).toThrow();
    await expect(tcpAccepts(proxy.port)).resolves.toBe(false);
  });
});

describe('the data plane stand-in: wildcard hostnames as Gateway API v1.6 defines them (a hand-written route)', () => {
  const cleanup = useCleanup();
  let stack: StackRegistry;
  let proxy: SniProxyProcess;
  let registryCert: X509Certificate;
  const backend = () => `127.0.0.1:${stack.port}`;

  beforeAll(async () => {
    stack = await startStackRegistry(cleanup, synthesized('prod'));
    registryCert = new X509Certificate(stack.tls.certPem);
    proxy = await startSniProxy(cleanup, path.join(stack.dir, 'sni'), { listenPort: await freePort(), routes: [{ hostnames: [WILDCARD], backend: backend() }] });
  }, 30_000);

  it(`${WILDCARD}: one or more leading labels reach the backend, the bare domain does not`, async () => {
    const before = (await readAccessLog(proxy)).length;
    const attempts = {
      'a.wild.example.internal': await tlsAttempt(proxy.port, 'a.wild.example.internal'),
      'a.b.wild.example.internal': await tlsAttempt(proxy.port, 'a.b.wild.example.internal'),
      'wild.example.internal': await tlsAttempt(proxy.port, 'wild.example.internal'),
    };
    expect(attempts).toEqual({
      'a.wild.example.internal': { handshake: true, peer: registryCert.fingerprint256 },
      'a.b.wild.example.internal': { handshake: true, peer: registryCert.fingerprint256 },
      'wild.example.internal': { handshake: false, error: expect.any(String) },
    });
    let entries: SniLogEntry[] = [];
    await waitFor('3 new access log entries', async () => (entries = await readAccessLog(proxy)).length >= before + 3, { timeoutMs: 10_000 });
    expect(entries.slice(before).map((e) => [e.sni, e.upstream])).toEqual([
      ['a.wild.example.internal', backend()],
      ['a.b.wild.example.internal', backend()],
      ['wild.example.internal', proxy.closedAddress],
    ]);
  });
});

describe('sniProxyConfig refuses routes nginx would misread', () => {
  const config = (routes: Array<{ hostnames: string[]; backend: string }>) => () => sniProxyConfig('/tmp/x', { listenPort: 8443, closedPort: 8444, routes });
  it.each([
    [['Registry.example.internal'], '127.0.0.1:5000', /hostname "Registry.example.internal" is not a Gateway API hostname/],
    [['10.0.0.1'], '127.0.0.1:5000', /hostname "10.0.0.1" is not a Gateway API hostname/],
    [['registry.*.internal'], '127.0.0.1:5000', /is not a Gateway API hostname/],
    [['registry.example.internal; default x'], '127.0.0.1:5000', /is not a Gateway API hostname/],
    [[], '127.0.0.1:5000', /has no hostnames/],
    [['registry.example.internal'], '127.0.0.1', /is not host:port/],
    [['registry.example.internal'], '127.0.0.1:0', /is not host:port/],
    [['registry.example.internal'], '127.0.0.1:5000; x', /is not host:port/],
  ])('%j -> %s', (hostnames, backend, error) => {
    expect(config([{ hostnames, backend }])).toThrow(error);
  });

  it('refuses a hostname routed twice; two routes to one backend share its upstream', () => {
    expect(config([{ hostnames: ['a.example.internal'], backend: '127.0.0.1:1' }, { hostnames: ['a.example.internal'], backend: '127.0.0.1:2' }]))
      .toThrow('hostname a.example.internal is routed twice');
    const text = config([{ hostnames: ['a.example.internal'], backend: '127.0.0.1:1' }, { hostnames: ['*.b.example.internal'], backend: '127.0.0.1:1' }])();
    expect(text.match(/upstream backend_\d+/g)).toEqual(['upstream backend_0']);
    expect(text).toContain('    a.example.internal backend_0;\n    *.b.example.internal backend_0;\n');
  });
});
