import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENVIRONMENTS } from '../../lib/environments';
import { environment, synth } from '../../harness/synth';
import { Storage } from '../../lib/storage';
import { Exposure } from '../../lib/exposure';

describe('terraform.tfvars.example', () => {
  const example = readFileSync(join(__dirname, '../../terraform.tfvars.example'), 'utf8');
  // Every storage, TLS and exposure variant, so variables only some environments declare are covered too.
  const variants = [
    ...ENVIRONMENTS.map((e) => environment(e.name)),
    environment('dev', { tlsMode: 'provided', storage: Storage.storageClass(), exposure: Exposure.ingressNginx.configmapOnly() }),
    environment('dev', { storage: Storage.existingClaim(), exposure: Exposure.none(), variables: { existing_claim: 'data' } }),
  ];
  const names = new Set(variants.flatMap((env) => Object.keys(synth(env).json.variable)));

  test.each([...names].sort().map((n) => [n]))('lists and comments %s', (name) => {
    const line = example.split('\n').findIndex((l) => new RegExp(`^#? ?${name}\\s*=`).test(l));
    expect(line).toBeGreaterThan(0);
    // The line above (or the one above a group) is a comment that says what the variable is for.
    expect(example.split('\n').slice(Math.max(0, line - 3), line).some((l) => l.startsWith('#'))).toBe(true);
  });

  test('the README table names every variable', () => {
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    for (const name of names) expect(readme).toContain(`\`${name}\``);
  });
});
