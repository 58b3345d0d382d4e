/**
 * The 443 front door under a large push. nginx's http module, programmed from the objects the https-attach stack
 * emits (its HTTPRoute, BackendTLSPolicy and NGINX Gateway Fabric ClientSettingsPolicy, evaluated by terraform:
 * harness/chart-objects.ts), terminates TLS with the listener's certificate and proxies over TLS, verified against
 * the registry's CA for the policy's hostname, to the real registry started from the same stack
 * (harness/programs/stack-registry.ts). skopeo pushes a 1 GiB layer through it (one chunked PATCH) and pulls it back,
 * verifying every digest. Its own file: the transfer is the slowest thing in the suite, and nothing else waits for it.
 *
 * What a stand-in cannot prove: the data plane here is nginx configured as NGF configures it, not NGF itself, and
 * Envoy Gateway (the other supported data plane) does not run on these machines; the registry is 2.8.2, whose URL
 * building from Host and X-Forwarded-Proto is the same as 3.1.0's (registry/api/v2/urls.go).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { chartObjects, HTTPS_EXPOSURE_CHART, one } from '../../harness/chart-objects';
import { synthesized } from '../../harness/json';
import { tempDir, useCleanup } from '../../harness/programs';
import { readFrontDoorLog, startFrontDoorStack } from '../../harness/programs/https-front-door';
import { writeLargeImageLayout } from '../../harness/programs/oci-layout';

const GIB = 1024 ** 3;

describe('a 1 GiB layer through the HTTPS front door programmed from the stack\'s route and policies', () => {
  const cleanup = useCleanup();

  test('skopeo pushes it in one chunked PATCH and pulls it back; every Location the registry returns names the front door', async () => {
    const started = Date.now();
    // Four copies of the layer (the layout, the door's request buffer, the registry's storage, the pulled copy): in memory where there is room.
    const dir = await tempDir(cleanup, 'https-large-', { inMemory: 4 * GIB });
    const json = synthesized('https-attach');
    const objects = await chartObjects(json, path.join(dir, 'terraform'), HTTPS_EXPOSURE_CHART);
    const door = await startFrontDoorStack(cleanup, json, dir, {
      httpRoute: one(objects, 'HTTPRoute'), backendTlsPolicy: one(objects, 'BackendTLSPolicy'), clientSettingsPolicy: one(objects, 'ClientSettingsPolicy'),
    });
    const { hostname, port } = door;
    const setupSeconds = (Date.now() - started) / 1000;

    let t = Date.now();
    const image = await writeLargeImageLayout(path.join(dir, 'layout'), GIB);
    const generateSeconds = (Date.now() - t) / 1000;
    expect(image.layerSize).toBeGreaterThan(GIB);

    const ref = `docker://${hostname}:${port}/large/layer:1`;
    t = Date.now();
    await expect(door.copy('push', image.reference, ref)).resolves.toBe(image.manifestDigest);
    const pushSeconds = (Date.now() - t) / 1000;
    t = Date.now();
    const pulled = path.join(dir, 'pulled');
    await expect(door.copy('pull', ref, `oci:${pulled}:1`)).resolves.toBe(image.manifestDigest);
    const pullSeconds = (Date.now() - t) / 1000;
    // skopeo checked the digest while writing; the blob is there at its full size.
    expect((await fs.stat(path.join(pulled, 'blobs', 'sha256', image.layerDigest.slice('sha256:'.length)))).size).toBe(image.layerSize);

    const log = await readFrontDoorLog(door.front.accessLogPath);
    // The layer went up in one PATCH through the front door, whole.
    const patches = log.filter((e) => e.method === 'PATCH' && e.requestLength > GIB);
    expect(patches.map((e) => e.status)).toEqual([202]);
    // Every upload Location (POST, PATCH, PUT) points at the front door's name and port over https, never the pod.
    const locations = log.filter((e) => ['POST', 'PATCH', 'PUT'].includes(e.method) && e.status < 300).map((e) => e.location);
    expect(locations.length).toBeGreaterThanOrEqual(3);
    for (const location of locations) expect(location).toMatch(new RegExp(`^https://${hostname.replace(/\./g, '\\.')}:${port}/v2/large/layer/`));
    // The layer came back through it.
    expect(log.some((e) => e.method === 'GET' && e.uri === `/v2/large/layer/blobs/${image.layerDigest}` && e.status === 200)).toBe(true);
    console.log(`1 GiB through the HTTPS front door: setup ${setupSeconds.toFixed(1)} s, layer generated in ${generateSeconds.toFixed(1)} s, `
      + `push ${pushSeconds.toFixed(1)} s, pull ${pullSeconds.toFixed(1)} s, total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 600_000);
});
