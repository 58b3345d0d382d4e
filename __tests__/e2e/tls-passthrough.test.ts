/**
 * The data plane of a Gateway API TLSRoute in TLS passthrough, as NGINX Gateway Fabric implements it: an nginx
 * stream server with `ssl_preread on` routes by the ClientHello's SNI (support/tls-passthrough.ts) to the real
 * registry, which terminates TLS itself. The registry runs as in registry.test.ts, from the synthesized prod stack
 * (its registry_domains default is registry.example.internal, so the certificate names it).
 *
 * Name resolution: node clients connect to 127.0.0.1 and send the name as `servername`. skopeo cannot be given an
 * address, and the existing e2e tests reach the registry by its 127.0.0.1 IP SAN, which sends no SNI at all; so
 * skopeo goes through a loopback CONNECT proxy (support/connect-proxy.ts, HTTPS_PROXY) that maps the name to
 * 127.0.0.1. DNS is never asked and /etc/hosts is not touched; TLS (SNI + verification against the CA) is still end
 * to end between skopeo and the registry.
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
import { Synthesized } from '../../harness/synth';
import { execFileAsync, freePort, tcpAccepts, useCleanup, waitFor } from '../../harness/programs';
import { ConnectProxy, startConnectProxy } from '../../harness/programs/connect-proxy';
import { StackRegistry, startStackRegistry, synthesizeStack } from '../../harness/programs/stack-registry';
import { readAccessLog, SniLogEntry, sniProxyConfig, SniProxyProcess, startSniProxy } from '../../harness/programs/tls-passthrough';

const NAME = 'registry.example.internal';
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

describe('TLS passthrough by SNI (nginx stream + ssl_preread) in front of the real registry', () => {
  const cleanup = useCleanup();
  let json: Synthesized;
  let stack: StackRegistry;
  let proxy: SniProxyProcess;
  let connect: ConnectProxy;
  let registryCert: X509Certificate;
  const backend = () => `127.0.0.1:${stack.port}`;
  /** Waits for the access log to hold `n` entries more than `before`, and returns the new ones. */
  const newLogEntries = async (before: number, n: number): Promise<SniLogEntry[]> => {
    let entries: SniLogEntry[] = [];
    await waitFor(`${n} new access log entries`, async () => (entries = await readAccessLog(proxy)).length >= before + n, { timeoutMs: 3_000 });
    return entries.slice(before);
  };

  beforeAll(async () => {
    json = synthesizeStack('prod');
    stack = await startStackRegistry(cleanup, json);
    registryCert = new X509Certificate(stack.tls.certPem);
    proxy = await startSniProxy(cleanup, path.join(stack.dir, 'sni'), {
      listenPort: await freePort(),
      routes: [
        { hostnames: [NAME], backend: backend() },
        { hostnames: [WILDCARD], backend: backend() },
      ],
    });
    connect = await startConnectProxy(cleanup, { hosts: { [NAME]: '127.0.0.1' } });
  }, 30_000);

  it('routes the name of the synthesized prod stack, which its certificate carries', () => {
    expect(json.variable.registry_domains.default).toEqual([NAME]);
    expect(registryCert.checkHost(NAME)).toBe(NAME);
    const conf = readFileSync(proxy.confPath, 'utf8');
    expect(conf).toContain('ssl_preread on;');
    expect(conf).toContain(`upstream backend_0 { server ${backend()}; }`);
    expect(conf).toContain([
      'map $ssl_preread_server_name $tls_backend {',
      '    hostnames;',
      `    default ${proxy.closedAddress};`,
      `    ${NAME} backend_0;`,
      `    ${WILDCARD} backend_0;`,
      '  }',
    ].join('\n'));
  });

  it(`SNI ${NAME} reaches the registry through the proxy: verified TLS, GET / 200`, async () => {
    const before = (await readAccessLog(proxy)).length;
    const res = await getRoot(proxy.port, NAME, stack.tls.caPem);
    expect(res.status).toBe(200);
    expect(res.authorized).toBe(true);
    // The registry's own certificate came back through the proxy, and the name check was against the SNI.
    expect(res.cert.fingerprint256).toBe(registryCert.fingerprint256);
    expect(tls.checkServerIdentity(NAME, res.cert)).toBeUndefined();
    expect(tls.checkServerIdentity('other.example.internal', res.cert)).toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(await newLogEntries(before, 1)).toEqual([{ sni: NAME, upstream: backend(), status: 200 }]);
  });

  it('refuses an SNI no route lists (other.example.internal): closed, no TLS handshake', async () => {
    const before = (await readAccessLog(proxy)).length;
    await expect(tlsAttempt(proxy.port, 'other.example.internal')).resolves.toMatchObject({ handshake: false });
    expect(await newLogEntries(before, 1)).toMatchObject([{ sni: 'other.example.internal', upstream: proxy.closedAddress }]);
  });

  it('refuses a ClientHello without SNI, and bytes that are not TLS at all', async () => {
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

  it(`wildcard route ${WILDCARD}: one or more leading labels reach the backend, the bare domain does not`, async () => {
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
    expect((await newLogEntries(before, 3)).map((e) => [e.sni, e.upstream])).toEqual([
      ['a.wild.example.internal', backend()],
      ['a.b.wild.example.internal', backend()],
      ['wild.example.internal', proxy.closedAddress],
    ]);
  });

  it(`skopeo pushes and pulls by name (${NAME}:<port>) through the proxy, TLS verified against the CA`, async () => {
    expect(await fs.readFile('/etc/hosts', 'utf8')).not.toContain(NAME);
    const ref = `docker://${NAME}:${proxy.port}/e2e/gateway:v1`;
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
    expect(new Set(connect.requests.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify({ target: `${NAME}:${proxy.port}`, allowed: true })]));
    const entries = (await readAccessLog(proxy)).slice(before);
    expect(entries.length).toBeGreaterThan(0);
    expect(new Set(entries.map((e) => `${e.sni} -> ${e.upstream}`))).toEqual(new Set([`${NAME} -> ${backend()}`]));
    // The image is in the registry itself (read directly, not through the proxy).
    const direct = new RegistryClient({ host: '127.0.0.1', port: stack.port, username: stack.user, password: stack.password, caPem: stack.tls.caPem });
    cleanup.add(() => direct.close());
    await expect(pullImage(direct, 'e2e/gateway', 'v1', digest)).resolves.toMatchObject({ digest });
  }, 20_000);

  it('stops by PID: the nginx master is gone and the port refuses connections', async () => {
    await proxy.stop();
    expect(() => process.kill(proxy.pid, 0)).toThrow();
    await expect(tcpAccepts(proxy.port)).resolves.toBe(false);
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
