import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { removeDirectory } from '../../harness/remove';

const repoRoot = resolve(__dirname, '..', '..');
const buildScript = join(repoRoot, 'scripts', 'build-selinux.sh');
const teSource = join(repoRoot, 'selinux', 'allowregistrypolicy.te');
const MODULE = 'allowregistrypolicy';

/** Runs scripts/build-selinux.sh [outDir] [teFile] and returns its exit status and output. */
function build(outDir: string, teFile?: string) {
  const args = teFile === undefined ? [buildScript, outDir] : [buildScript, outDir, teFile];
  const run = spawnSync('bash', args, { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * Reads module name and version out of a policy package (.pp): a package header
 * (magic 0xf97cff8f, version, section count, section offsets) whose first section is the module
 * (magic 0xf97cff8d, "SE Linux Module", policy type, policy version, config, symbol and ocontext
 * counts, then the length-prefixed name and version strings).
 */
function readPolicyPackage(pp: Buffer): { name: string; version: string } {
  if (pp.readUInt32LE(0) !== 0xf97cff8f) throw new Error('not a policy package');
  const modOffset = pp.readUInt32LE(12);
  if (pp.readUInt32LE(modOffset) !== 0xf97cff8d) throw new Error('first section is not a policy module');
  let at = modOffset + 4;
  const text = () => {
    const len = pp.readUInt32LE(at);
    const value = pp.toString('latin1', at + 4, at + 4 + len);
    at += 4 + len;
    return value;
  };
  if (text() !== 'SE Linux Module') throw new Error('bad module signature');
  at += 5 * 4; // policy type, policy version, config, symbol count, ocontext count
  const name = text();
  return { name, version: text() };
}

describe('SELinux module allowregistrypolicy', () => {
  let work: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'selinux-'));
  });
  afterEach(() => removeDirectory(work));

  test('builds a non-empty package named after the file and says how to load it', () => {
    const out = join(work, 'out');
    const run = build(out);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const pp = join(out, `${MODULE}.pp`);
    expect(statSync(pp).size).toBeGreaterThan(0);
    expect(statSync(join(out, `${MODULE}.mod`)).size).toBeGreaterThan(0);
    expect(readPolicyPackage(readFileSync(pp))).toEqual({ name: MODULE, version: '1.0' });
    expect(run.stdout).toContain(`built ${pp}`);
    expect(run.stdout).toContain(`semodule -i ${pp}`);
  });

  test('grants container_t only dir/file management on container_var_lib_t', () => {
    const source = readFileSync(teSource, 'utf8').replace(/#.*$/gm, '');
    const rules = [...source.matchAll(/^\s*(allow|allowxperm|auditallow|dontaudit|neverallow|type_transition|typeattribute)\b[^;]*;/gm)]
      .map((m) => m[0].trim().replace(/\s+/g, ' '));

    expect(rules).toHaveLength(2);
    for (const rule of rules) {
      expect(rule).toMatch(/^allow container_t container_var_lib_t:(dir|file) \{[a-z_ ]+\};$/);
    }
    expect(source).not.toMatch(/[*~]/); // no wildcards or complements
    expect(source).not.toMatch(/\b(execute|execute_no_trans|entrypoint|relabelfrom|relabelto|mounton|link)\b/);
  });

  test('fails when the module has a syntax error, and leaves no package behind', () => {
    const broken = join(work, `${MODULE}.te`);
    // drop the semicolon that ends the first class declaration
    writeFileSync(broken, readFileSync(teSource, 'utf8').replace(/(class dir \{[^}]*\});/, '$1'));
    const out = join(work, 'out');

    const run = build(out, broken);

    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/syntax error/);
    expect(existsSync(join(out, `${MODULE}.pp`))).toBe(false);
  });

  test('fails when a rule names a type the module does not require', () => {
    const broken = join(work, `${MODULE}.te`);
    writeFileSync(broken, readFileSync(teSource, 'utf8').replace('allow container_t container_var_lib_t:file', 'allow container_t registry_data_t:file'));

    const run = build(join(work, 'out'), broken);

    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/unknown type registry_data_t/);
  });

  test('fails when the module name differs from the file name', () => {
    const renamed = join(work, 'registrypolicy.te');
    writeFileSync(renamed, readFileSync(teSource, 'utf8'));

    const run = build(join(work, 'out'), renamed);

    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("module name 'allowregistrypolicy' does not match file name 'registrypolicy.te'");
  });
});
