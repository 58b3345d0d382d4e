/**
 * The HTTPS front door's limits are the stack's policy, not luck: the same nginx, programmed from the https-attach
 * stack's HTTPRoute and BackendTLSPolicy, once with the stack's ClientSettingsPolicy and once with NGINX Gateway
 * Fabric's defaults in its place (1m body, 60 s body timeout). A 3 MiB layer goes through the first and is refused
 * with 413 by the second, the error users meet behind an unconfigured data plane. The 1 GiB transfer is
 * https-large-layer.test.ts.
 */
import * as path from 'node:path';
import { chartObjects, HTTPS_EXPOSURE_CHART, one } from '../../harness/chart-objects';
import { synthesized } from '../../harness/json';
import { tempDir, useCleanup } from '../../harness/programs';
import { readFrontDoorLog, startFrontDoorStack } from '../../harness/programs/https-front-door';
import { writeLargeImageLayout } from '../../harness/programs/oci-layout';

describe('the HTTPS front door with and without the stack\'s ClientSettingsPolicy', () => {
  const cleanup = useCleanup();

  test('with it a 3 MiB layer is pushed; with NGF\'s defaults the same push fails with 413', async () => {
    const dir = await tempDir(cleanup, 'https-front-');
    const json = synthesized('https-attach');
    const objects = await chartObjects(json, path.join(dir, 'terraform'), HTTPS_EXPOSURE_CHART);
    const policy = one(objects, 'ClientSettingsPolicy');
    const defaults = { ...policy, spec: { ...policy.spec, body: { maxSize: '1m', timeout: '60s' } } };
    const common = { httpRoute: one(objects, 'HTTPRoute'), backendTlsPolicy: one(objects, 'BackendTLSPolicy') };
    const [stackPolicy, ngfDefaults, image] = await Promise.all([
      startFrontDoorStack(cleanup, json, path.join(dir, 'policy'), { ...common, clientSettingsPolicy: policy }),
      startFrontDoorStack(cleanup, json, path.join(dir, 'defaults'), { ...common, clientSettingsPolicy: defaults }),
      writeLargeImageLayout(path.join(dir, 'layout'), 3 * 1024 * 1024),
    ]);
    const ref = (door: typeof stackPolicy) => `docker://${door.hostname}:${door.port}/small/layer:1`;
    await expect(stackPolicy.copy('push', image.reference, ref(stackPolicy))).resolves.toBe(image.manifestDigest);
    await expect(ngfDefaults.copy('push', image.reference, ref(ngfDefaults))).rejects.toThrow(/413|Request Entity Too Large/);
    const refused = (await readFrontDoorLog(ngfDefaults.front.accessLogPath)).filter((e) => e.status === 413);
    expect(refused.map((e) => e.method)).toContain('PATCH');
  }, 120_000);
});
