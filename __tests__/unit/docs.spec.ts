/** The variable table in docs/configuration.md and terraform.tfvars.example are the catalog's, and the catalog has no dead entries. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { tfvarsExample, VARIABLES_TABLE_FILE, withVariablesTable } from '../../lib/variables/docs';
import { specOf, VARIABLE_NAMES } from '../../lib/variables/catalog';
import { Exposure } from '../../lib/exposure';
import { Storage } from '../../lib/storage';
import { environment, synth, TEST_ENVIRONMENTS } from '../../harness/synth';

const root = join(__dirname, '../..');

describe('generated docs', () => {
  test(`${VARIABLES_TABLE_FILE} has the catalog's variable table (run \`npm run docs\` after changing the catalog)`, () => {
    const page = readFileSync(join(root, VARIABLES_TABLE_FILE), 'utf8');
    expect(page).toBe(withVariablesTable(page));
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

  test('every relative link in README.md and docs/ reaches a file, and its #anchor a heading there', () => {
    const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-');
    const headings = (text: string) => {
      let fence = false;
      return text.split('\n').flatMap((line) => {
        if (line.startsWith('```')) fence = !fence;
        const m = fence ? null : /^#{1,6} (.*)/.exec(line);
        return m ? [slug(m[1])] : [];
      });
    };
    const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const broken = files.flatMap((file) =>
      [...readFileSync(join(root, file), 'utf8').matchAll(/\]\(([^)\s]+)\)/g)].flatMap(([, link]) => {
        if (/^[a-z]+:/.test(link)) return [];
        const [path, anchor] = link.split('#');
        if (!path && !anchor) return [`${file}: an empty link`];
        const target = path ? normalize(join(dirname(file), path)) : file;
        let text: string;
        try { text = readFileSync(join(root, target), 'utf8'); } catch { return [`${file}: ${link} (no file)`]; }
        return anchor && target.endsWith('.md') && !headings(text).includes(anchor) ? [`${file}: ${link} (no heading)`] : [];
      }));
    expect(broken).toEqual([]);
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
