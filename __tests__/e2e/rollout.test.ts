/**
 * A change reaches the pods in one apply, and a rollout does not cut uploads:
 * - the pod-template annotation that rolls the registry is a hash of the secrets' content, evaluated here by the real
 *   terraform binary from the synthesized expression (with stand-in secret data);
 * - http.draintimeout: an upload in flight when SIGTERM arrives completes on the real registry, and the restart's
 *   outage (SIGTERM to the new process answering GET /) is measured for docs/operations.md (Changes, rollouts and restarts).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as https from 'node:https';
import { byPath, only, synthesized, Synthesized } from '../../harness/json';
import { evaluateVariantsWithTerraform } from '../../harness/terraform';
import { tempDir, useCleanup, waitFor } from '../../harness/programs';
import { StackRegistry, startStackRegistry } from '../../harness/programs/stack-registry';
import { DRAIN_SECONDS, POD_GRACE_SECONDS } from '../../lib/registry/config';

let json: Synthesized;
beforeAll(() => {
  json = synthesized('dev');
});

describe('the registry pod rolls on the content of its secrets, in the same apply', () => {
  const cleanup = useCleanup();
  const annotation = () => only(json, 'kubernetes_deployment_v1').spec.template.metadata.annotations['private-registry-stack/secrets-sha256'];

  test('the hash is built from the secrets\' data, never from resource_version (known only after the apply)', () => {
    expect(annotation()).toMatch(/^\$\{nonsensitive\(sha256\(jsonencode\(\[kubernetes_secret_v1\.tls_secret_[A-F0-9]{8}\.data, /);
    expect(JSON.stringify(only(json, 'kubernetes_deployment_v1'))).not.toContain('resource_version');
  });

  test('terraform: the hash changes when the certificate, a user or the http secret changes, and only then', async () => {
    const dir = await tempDir(cleanup, 'rollout-tf-');
    const ids = [...annotation().matchAll(/kubernetes_secret_v1\.([A-Za-z0-9_-]+_[A-F0-9]{8})\.data/g)].map((m) => m[1]);
    expect(ids).toHaveLength(3);
    const [tls, htpasswd, http] = ids;
    type Secrets = Record<string, { data: Record<string, string> }>;
    const base: Secrets = {
      [tls]: { data: { 'tls.crt': 'CERT-1', 'tls.key': 'KEY-1', 'ca.crt': 'CA' } },
      [htpasswd]: { data: { htpasswd: 'admin:$2a$10$x\n' } },
      [http]: { data: { 'http-secret': 'S1' } },
    };
    const variants: Record<string, Secrets> = {
      same: JSON.parse(JSON.stringify(base)),
      renewedCertificate: { ...base, [tls]: { data: { ...base[tls].data, 'tls.crt': 'CERT-2' } } },
      newUser: { ...base, [htpasswd]: { data: { htpasswd: 'admin:$2a$10$x\nci:$2a$10$y\n' } } },
      newHttpSecret: { ...base, [http]: { data: { 'http-secret': 'S2' } } },
    };
    // The secrets' data are stand-in variables of each variant (resources name them; values carry them).
    const all = { base, ...variants };
    const variable = (id: string) => `resource_${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
    const evaluated = await evaluateVariantsWithTerraform(dir, json, { hash: annotation() },
      Object.fromEntries(Object.entries(all).map(([name, secrets]) => [name, Object.fromEntries(Object.entries(secrets).map(([id, v]) => [variable(id), v]))])),
      base);
    const hashes = Object.fromEntries(Object.entries(evaluated).map(([name, out]) => [name, out.hash as string]));
    expect(hashes.base).toMatch(/^[a-f0-9]{64}$/);
    expect(hashes.same).toBe(hashes.base);
    for (const changed of ['renewedCertificate', 'newUser', 'newHttpSecret']) expect(hashes[changed]).not.toBe(hashes.base);
    // A hash of the content, nothing else: the same value as sha256 of the same JSON (jsonencode sorts map keys).
    const sorted = (data: Record<string, string>) => Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1)));
    const expected = createHash('sha256').update(JSON.stringify([base[tls], base[htpasswd], base[http]].map((s) => sorted(s.data)))).digest('hex');
    expect(hashes.base).toBe(expected);
  }, 30_000);
});

/** Starts a monolithic blob upload (POST, then one PUT) whose body trickles in; resolves with the PUT's status. */
async function slowUpload(stack: StackRegistry, bytes: Buffer, chunks: number, intervalMs: number, onStreaming: () => void): Promise<number> {
  const auth = `Basic ${Buffer.from(`${stack.user}:${stack.password}`).toString('base64')}`;
  const request = (method: string, urlPath: string, body?: Buffer | 'stream') =>
    new Promise<{ status: number; location?: string }>((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: stack.port, method, path: urlPath, ca: stack.tls.caPem, servername: 'localhost', agent: false,
        headers: { authorization: auth, 'content-type': 'application/octet-stream', 'content-length': body ? bytes.length : 0 },
      }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location }));
      });
      req.on('error', reject);
      if (body === 'stream') {
        const size = Math.ceil(bytes.length / chunks);
        let i = 0;
        const next = () => {
          req.write(bytes.subarray(i * size, (i + 1) * size));
          // SIGTERM once the request is surely on the wire: two chunks in (~300 ms), not before the connect.
          if (i === 2) onStreaming();
          i += 1;
          if (i < chunks) setTimeout(next, intervalMs);
          else req.end();
        };
        next();
      } else req.end();
    });
  const started = await request('POST', '/v2/drain/test/blobs/uploads/');
  expect(started.status).toBe(202);
  const location = new URL(started.location!, `https://127.0.0.1:${stack.port}`);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return (await request('PUT', `${location.pathname}${location.search}${location.search ? '&' : '?'}digest=${digest}`, 'stream')).status;
}

describe('a rollout lets uploads in flight finish (http.draintimeout), on the real registry', () => {
  const cleanup = useCleanup();

  test('the drain is shorter than the pod\'s grace period, and the config asks for it', () => {
    expect(DRAIN_SECONDS).toBeLessThan(POD_GRACE_SECONDS);
    const pod = only(json, 'kubernetes_deployment_v1').spec.template.spec;
    expect(pod.termination_grace_period_seconds).toBe(POD_GRACE_SECONDS);
    const configMap = byPath(json, 'kubernetes_config_map_v1', 'registry/config');
    expect(configMap.data['config.yml']).toContain(`draintimeout: ${DRAIN_SECONDS}s`);
  });

  test('SIGTERM in the middle of an upload: the upload completes, then the registry exits; the restart is a short outage', async () => {
    const stack = await startStackRegistry(cleanup, json);
    const bytes = randomBytes(4 << 20);
    let sigterm = 0;
    const status = slowUpload(stack, bytes, 8, 150, () => {
      sigterm = performance.now();
      process.kill(stack.registry.pid, 'SIGTERM');
    });
    await expect(status).resolves.toBe(201);
    // The process exits once the drain is done; then a new one starts and answers GET /.
    const oldPid = stack.registry.pid;
    const alive = () => { try { process.kill(oldPid, 0); return true; } catch { return false; } };
    await waitFor('the old registry to exit', async () => !alive(), { timeoutMs: 10_000 });
    const exitedMs = performance.now() - sigterm;
    await stack.start();
    const outageMs = performance.now() - sigterm;
    // eslint-disable-next-line no-console
    console.log(`restart on the real registry: old process gone ${Math.round(exitedMs)} ms after SIGTERM (one 4 MiB upload drained), new one answering GET / at ${Math.round(outageMs)} ms`);
    // With nothing in flight the registry exits at once: the outage is the new process's start.
    const idle = performance.now();
    await stack.restart();
    console.log(`idle restart (SIGTERM, exit, start, GET / answering): ${Math.round(performance.now() - idle)} ms`);
    expect(exitedMs).toBeGreaterThan(500); // it waited for the upload, which still had ~1 s to go
  }, 30_000);

  test('without a drain time the same upload is cut (what the setting prevents)', async () => {
    const stack = await startStackRegistry(cleanup, json, { env: { REGISTRY_HTTP_DRAINTIMEOUT: '0s' } });
    const status = slowUpload(stack, randomBytes(4 << 20), 8, 150, () => process.kill(stack.registry.pid, 'SIGTERM'));
    // the registry drops the connection; the front answers the client 502 (or the connection is cut)
    await expect(status.then(String, (err: Error) => err.message)).resolves.toMatch(/^502$|socket hang up|ECONNRESET|EPIPE/);
  }, 30_000);
});
