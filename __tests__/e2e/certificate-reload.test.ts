/**
 * The renewal mechanism of the cert-manager mode on real programs: nginx serves TLS from a directory laid out as the
 * kubelet lays out a Secret volume (`tls.crt` -> `..data/tls.crt`, `..data` -> a timestamped directory); the renewed
 * certificate arrives the way the kubelet writes it (a new directory, then an atomic rename of the `..data` link);
 * the watcher script (lib/certificates/reload-watcher.ts) notices and reloads nginx. HTTPS clients request the whole
 * time, each request on a new connection: none fails, and the new certificate is served within the interval.
 *
 * What a stand-in cannot prove: the kubelet's own sync delay (docs/certificates.md states it); the swap here is the
 * kubelet's atomic-writer protocol, performed by the test.
 */
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as https from 'node:https';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { reloadWatcherScript } from '../../lib/certificates/reload-watcher';
import { FRONT_RELOAD_INTERVAL_SECONDS } from '../../lib/registry/front';
import { synthesized } from '../../harness/json';
import { startStackRegistry } from '../../harness/programs/stack-registry';
import { execFileAsync, freePort, makeTlsMaterial, tcpAccepts, tempDir, useCleanup, waitFor } from '../../harness/programs';
import { spawnLogged, waitUntilReady } from '../../harness/programs/process';

const NAME = 'registry.example.internal';
const INTERVAL_SECONDS = 1;

/** A new leaf for the same name from the same CA (what an issuer does on renewal). */
async function renewedLeaf(tlsDir: string, out: string): Promise<{ cert: string; key: string }> {
  await fs.mkdir(out, { recursive: true });
  const o = (f: string) => path.join(out, f);
  const t = (f: string) => path.join(tlsDir, f);
  await execFileAsync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', o('tls.key')]);
  await execFileAsync('openssl', ['req', '-new', '-config', t('openssl.cnf'), '-key', o('tls.key'), '-out', o('tls.csr')]);
  await execFileAsync('openssl', ['x509', '-req', '-in', o('tls.csr'), '-CA', t('ca.crt'), '-CAkey', t('ca.key'), '-set_serial', '0x5eed',
    '-sha256', '-days', '90', '-extfile', t('openssl.cnf'), '-extensions', 'leaf_ext', '-out', o('tls.crt')]);
  return { cert: await fs.readFile(o('tls.crt'), 'utf8'), key: await fs.readFile(o('tls.key'), 'utf8') };
}

/** Writes a Secret volume's files the kubelet's way: a new timestamped directory, then `..data` renamed onto it. */
async function writeSecretVolume(volume: string, files: Record<string, string>, first: boolean): Promise<void> {
  const version = `..${Date.now()}_${Math.random().toString(36).slice(2)}`;
  await fs.mkdir(path.join(volume, version));
  for (const [name, content] of Object.entries(files)) await fs.writeFile(path.join(volume, version, name), content);
  await fs.symlink(version, path.join(volume, '..data_tmp'));
  await fs.rename(path.join(volume, '..data_tmp'), path.join(volume, '..data'));
  if (first) for (const name of Object.keys(files)) await fs.symlink(path.join('..data', name), path.join(volume, name));
}

/** The serial of the certificate served to a new connection. */
function servedSerial(port: number, ca: string, name = NAME): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: name, ca }, () => {
      resolve(new X509Certificate(socket.getPeerCertificate(true).raw).serialNumber);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/** A client starts its next request 20 ms after the last one ends: a reload (a few ms) meets requests in every phase. */
const PACE_MS = 20;

/**
 * A client loop, one new TCP and TLS connection per request (no agent, no session reuse), until `stop` is set:
 * every result (the HTTP status, or the error). The requests come from this process: a curl per request, started
 * hundreds of times from a test worker, cost this file most of its CPU (each start forks the worker's large
 * process). The client connects to 127.0.0.1 and checks the server's certificate against `caPem` for `name`.
 */
function clientLoop(port: number, caPem: string, stop: { done: boolean }, name = NAME, urlPath = '/v2/'): Promise<string[]> {
  return new Promise((resolve) => {
    const results: string[] = [];
    const next = () => {
      if (stop.done) return resolve(results);
      const req = https.request({ host: '127.0.0.1', port, path: urlPath, servername: name, headers: { host: `${name}:${port}` }, ca: caPem, agent: false }, (res) => {
        res.resume();
        res.once('end', () => {
          results.push(String(res.statusCode));
          setTimeout(next, PACE_MS);
        });
      });
      req.once('error', (err) => {
        results.push(`request failed: ${err.message}`);
        setTimeout(next, PACE_MS);
      });
      req.end();
    };
    next();
  });
}

describe('certificate renewal: the watcher reloads nginx when the mounted Secret changes', () => {
  const cleanup = useCleanup();

  test('concurrent clients see no failed request, and the renewed certificate is served within the interval', async () => {
    const dir = await tempDir(cleanup, 'cert-reload-');
    await fs.chmod(dir, 0o755);
    const first = await makeTlsMaterial(path.join(dir, 'issuer'), { dnsNames: [NAME], ipAddresses: [] });
    const volume = path.join(dir, 'volume');
    await fs.mkdir(volume);
    await writeSecretVolume(volume, { 'tls.crt': first.certPem, 'tls.key': first.keyPem }, true);
    const port = await freePort();
    const conf = path.join(dir, 'nginx.conf');
    await fs.writeFile(conf, `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  server {
    listen 127.0.0.1:${port} ssl;
    server_name ${NAME};
    ssl_certificate ${volume}/tls.crt;
    ssl_certificate_key ${volume}/tls.key;
    location / { return 200 "ok\\n"; }
  }
}
`);
    const nginx = ['-e', `${dir}/error.log`, '-c', conf, '-p', dir];
    const server = spawnLogged(cleanup, 'nginx', nginx, { logPath: path.join(dir, 'nginx.out.log') });
    await waitUntilReady(server, `nginx on ${port}`, () => tcpAccepts(port));
    const script = reloadWatcherScript({
      files: [`${volume}/tls.crt`, `${volume}/tls.key`],
      intervalSeconds: INTERVAL_SECONDS,
      testCommand: `nginx -q -t ${nginx.join(' ')}`,
      reloadCommand: `nginx -s reload ${nginx.join(' ')}`,
    });
    await fs.writeFile(path.join(dir, 'watch.sh'), script);
    spawnLogged(cleanup, 'sh', [path.join(dir, 'watch.sh')], { logPath: path.join(dir, 'watch.log') });
    const oldSerial = await servedSerial(port, first.caPem);

    const stop = { done: false };
    const clients = [1, 2, 3].map(() => clientLoop(port, first.caPem, stop));
    await new Promise((r) => setTimeout(r, 1500));
    const renewed = await renewedLeaf(path.dirname(first.certPath), path.join(dir, 'renewed'));
    const swappedAt = Date.now();
    await writeSecretVolume(volume, { 'tls.crt': renewed.cert, 'tls.key': renewed.key }, false);
    const newSerial = new X509Certificate(renewed.cert).serialNumber;
    await waitFor('the renewed certificate served', async () => (await servedSerial(port, first.caPem)) === newSerial, { timeoutMs: (INTERVAL_SECONDS + 5) * 1000 });
    const servedAfterMs = Date.now() - swappedAt;
    await new Promise((r) => setTimeout(r, 1000));
    stop.done = true;
    const results = (await Promise.all(clients)).flat();

    expect(newSerial).not.toBe(oldSerial);
    expect(results.length).toBeGreaterThan(20);
    // nginx answers /v2/ with 200 here; any connection error or other code would be a failed request.
    expect(results.filter((r) => r !== '200')).toEqual([]);
    expect(await fs.readFile(path.join(dir, 'watch.log'), 'utf8')).toContain('certificate changed: reloaded');
    console.log(`renewal: ${results.length} requests, none failed; new certificate served ${servedAfterMs} ms after the swap (interval ${INTERVAL_SECONDS} s)`);
  }, 60_000);
});

describe('the registry pod\'s front runs the watcher: a rewritten TLS Secret is served with no restart', () => {
  const cleanup = useCleanup();

  test('the stack\'s front command and watcher script (from its ConfigMap) reload nginx under concurrent clients', async () => {
    // GIVEN the dev stack's registry and its front, started from the synthesized Deployment and ConfigMaps
    const stack = await startStackRegistry(cleanup, synthesized('dev'));
    const volume = stack.pod.volumeDirs.tls;
    const name = 'localhost';
    const oldSerial = await servedSerial(stack.port, stack.tls.caPem, name);
    const stop = { done: false };
    // GET / passes the front without credentials to the registry's own answer: 200 while the registry is healthy.
    const clients = [1, 2].map(() => clientLoop(stack.port, stack.tls.caPem, stop, name, '/'));

    // WHEN the Secret's files are rewritten in the volume (as the kubelet does after cert-manager renews it)
    const renewed = await renewedLeaf(path.dirname(stack.tls.certPath), path.join(stack.dir, 'renewed'));
    for (const [file, text] of [['tls.key', renewed.key], ['tls.crt', renewed.cert]]) {
      await fs.writeFile(path.join(volume, `${file}.new`), text);
      await fs.rename(path.join(volume, `${file}.new`), path.join(volume, file));
    }
    const swappedAt = Date.now();
    const newSerial = new X509Certificate(renewed.cert).serialNumber;

    // THEN the new certificate is served within the watcher's interval, by the same nginx, and no request failed
    await waitFor('the renewed certificate served by the front', async () => (await servedSerial(stack.port, stack.tls.caPem, name)) === newSerial,
      { timeoutMs: (FRONT_RELOAD_INTERVAL_SECONDS + 15) * 1000 });
    const servedAfterMs = Date.now() - swappedAt;
    stop.done = true;
    const results = (await Promise.all(clients)).flat();
    expect(newSerial).not.toBe(oldSerial);
    expect(stack.front!.exited()).toBeUndefined();
    expect(results.length).toBeGreaterThan(5);
    expect(results.filter((r) => r !== '200')).toEqual([]);
    expect(await fs.readFile(stack.front!.logPath, 'utf8')).toContain('certificate changed: reloaded');
    console.log(`front reload: ${results.length} requests, none failed; new certificate served ${servedAfterMs} ms after the rewrite (interval ${FRONT_RELOAD_INTERVAL_SECONDS} s)`);
  }, 120_000);
});
