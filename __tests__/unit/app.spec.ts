/** main.ts's synthesize(): what an operator sees for a good and a bad environment. */
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesize } from '../../lib/app';
import { environment } from '../../harness/synth';
import { removeDirectory } from '../../harness/remove';

function run(envs: Parameters<typeof synthesize>[0]) {
  const outdir = mkdtempSync(join(tmpdir(), 'synth-'));
  const lines: string[] = [];
  const errors: string[] = [];
  const code = synthesize(envs, { outdir, log: { log: (l: string) => lines.push(l), error: (l: string) => errors.push(l) } });
  return { code, lines, errors, outdir };
}

describe('synthesize (npm run synth)', () => {
  test('says which stack went where', () => {
    const { code, lines, errors, outdir } = run([environment('dev')]);
    expect(code).toBe(0);
    expect(errors).toEqual([]);
    expect(lines).toEqual([`registry-dev -> ${outdir}/stacks/registry-dev/cdk.tf.json`]);
    expect(existsSync(join(outdir, 'stacks/registry-dev/cdk.tf.json'))).toBe(true);
    removeDirectory(outdir);
  });

  test('fails with exit code 1 and the message alone, naming the environment and the setting', () => {
    const { code, lines, errors } = run([environment('dev', { variables: { external_port: 443 } })]);
    expect(code).toBe(1);
    expect(lines).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^synth failed: environment dev: variables\.external_port: 443 is not allowed; expected a port ingress-nginx does not reserve/);
    expect(errors[0]).not.toMatch(/\n\s+at |lib\/rules\.ts/);
  });

  test('fails when two environments share a name, saying so (not cdktf\'s construct-name error)', () => {
    const { code, errors } = run([environment('dev'), environment('dev', { preventDestroy: true })]);
    expect(code).toBe(1);
    expect(errors).toEqual([
      'synth failed: environment name: "dev" is not allowed a second time; expected one environment per name (each becomes the stack registry-dev, with its own state).',
    ]);
  });

  test('fails when a setting name is misspelt (nodeTrsut), naming the environment, the setting and the allowed names', () => {
    const { nodeTrust: _nodeTrust, ...rest } = environment('dev');
    const { code, errors } = run([{ ...rest, nodeTrsut: true } as any]);
    expect(code).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^synth failed: environment dev: nodeTrsut: is not allowed; expected one of the settings name, tlsMode, .*nodeTrust, .*mirror, .*monitoring \(lib\/environments.ts EnvironmentSettings\)\.$/);
  });
});
