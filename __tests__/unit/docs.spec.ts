/** The README's variable table and terraform.tfvars.example are the catalog's, and the catalog has no dead entries. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tfvarsExample, withVariablesTable } from '../../lib/variables/docs';
import { specOf, VARIABLE_NAMES } from '../../lib/variables/catalog';
import { Exposure } from '../../lib/exposure';
import { Storage } from '../../lib/storage';
import { environment, synth, TEST_ENVIRONMENTS } from '../../harness/synth';

const root = join(__dirname, '../..');

describe('generated docs', () => {
  test('README.md has the catalog\'s variable table (run `npm run docs` after changing the catalog)', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toBe(withVariablesTable(readme));
  });

  test('terraform.tfvars.example is the catalog\'s, every line commented out (run `npm run docs`)', () => {
    const example = readFileSync(join(root, 'terraform.tfvars.example'), 'utf8');
    expect(example).toBe(tfvarsExample());
    expect(example.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'))).toEqual([]);
  });

  test("every example value in terraform.tfvars.example has its variable's type (a list where a list is required)", () => {
    const shapes = { 'list(string)': /^\[.*\]$/, number: /^-?[0-9.]+$/, bool: /^(true|false)$/, string: /^".*"$/ };
    const wrong = VARIABLE_NAMES.filter((name) => {
      const line = tfvarsExample().split('\n').find((l) => l.startsWith(`# ${name} = `))!;
      return !shapes[specOf(name).type].test(line.slice(`# ${name} = `.length));
    });
    expect(wrong).toEqual([]);
  });

  test('every terraform -replace command in the docs passes the environment\'s -var-file (else defaults come back)', () => {
    const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const commands = docs.flatMap((file) =>
      [...readFileSync(join(root, file), 'utf8').matchAll(/terraform[^`\n]*(?:\n[^`\n]*)?-replace=/g)].map((m) => `${file}: ${m[0]}`));
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.filter((c) => !/-var-file="\$PWD\/<env>\.tfvars"/.test(c))).toEqual([]);
  });

  test('every catalog variable is declared by some environment (no dead entries), and nothing else is', () => {
    const variants = [
      ...TEST_ENVIRONMENTS,
      environment('dev', { storage: Storage.storageClass(), exposure: Exposure.ingressNginx.configmapOnly() }),
    ];
    const declared = new Set(variants.flatMap((env) => Object.keys(synth(env).json.variable)));
    expect([...declared].sort()).toEqual([...VARIABLE_NAMES].sort());
  });
});
