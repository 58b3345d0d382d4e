/**
 * The schemas the stand-in providers serve are generated from the pinned provider bindings (npm run schemas). A new
 * bindings version or a changed generator makes them stale: regenerate and commit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROVIDERS, SCHEMA_DIR, schemaStamp, type ProviderName } from '../../harness/providers/schema-source';

const ROOT = join(__dirname, '..', '..');

describe('stand-in provider schemas', () => {
  test.each(Object.keys(PROVIDERS) as ProviderName[])('%s: generated from the installed bindings by the current generator', (name) => {
    const committed = JSON.parse(readFileSync(join(SCHEMA_DIR, `${name}.json`), 'utf8'));
    expect(committed.stamp).toBe(schemaStamp(name, ROOT));
  });

  test('every resource type the stacks use is served', () => {
    const kubernetes = JSON.parse(readFileSync(join(SCHEMA_DIR, 'kubernetes.json'), 'utf8'));
    for (const type of ['kubernetes_deployment_v1', 'kubernetes_daemon_set_v1', 'kubernetes_cron_job_v1', 'kubernetes_persistent_volume_claim_v1']) {
      expect(Object.keys(kubernetes.resource_schemas)).toContain(type);
    }
  });
});
