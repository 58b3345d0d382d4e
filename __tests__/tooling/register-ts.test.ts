/**
 * scripts/register-ts.js, the require hook cdktf.json runs the app with: TypeScript through swc, and cdktf's and the
 * providers' JavaScript from a cached copy without its inline source map. Each case is a new node process with the
 * hook and its own cache directory, loading a package laid out like an installed provider binding.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeDirectory } from '../../harness/remove';

const HOOK = path.join(__dirname, '../../scripts/register-ts.js');
const MAP = `//# sourceMappingURL=data:application/json;base64,${Buffer.from('{"version":3,"mappings":""}').toString('base64')}\n`;

let dir: string;
let cacheDir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'register-ts-'));
  cacheDir = path.join(dir, 'cache');
});
afterEach(() => removeDirectory(dir));

/** Writes `node_modules/<pkg>/<file>` under the temp dir and returns its path. */
function install(pkg: string, file: string, source: string): string {
  const target = path.join(dir, 'node_modules', pkg, file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, source);
  return target;
}

/** Runs `node --require register-ts.js -e <script>` in the temp dir and returns stdout. */
function run(script: string, cache = cacheDir): string {
  return execFileSync(process.execPath, ['--require', HOOK, '-e', script], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, REGISTER_TS_CACHE_DIR: cache },
  });
}

/** Every file of the JavaScript cache (TypeScript output lives beside it). */
const cachedJs = () => {
  const root = path.join(cacheDir, 'js');
  return fs.existsSync(root) ? fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)) : [];
};

const binding = (value: string) => `"use strict";\nexports.value = ${JSON.stringify(value)};\nexports.file = __filename;\n${MAP}`;

test('a provider binding runs from a cached copy without its inline source map, under its own file name', () => {
  const file = install('@cdktf/provider-example/lib/resource', 'index.js', binding('one'));
  const script = `const m = require('@cdktf/provider-example/lib/resource'); console.log(JSON.stringify(m));`;
  expect(JSON.parse(run(script))).toEqual({ value: 'one', file });
  const cached = cachedJs();
  expect(cached).toHaveLength(1);
  expect(fs.readFileSync(cached[0], 'utf8')).toBe(binding('one').replace(MAP, ''));
  // The second process reads the copy: the same result, nothing added.
  expect(JSON.parse(run(script))).toEqual({ value: 'one', file });
  expect(cachedJs()).toEqual(cached);
});

test('a reinstalled binding (new size or mtime) is read again, not served from the old copy', () => {
  const file = install('cdktf', 'lib/index.js', binding('old'));
  const script = `console.log(require('cdktf/lib').value)`;
  expect(run(script).trim()).toBe('old');
  fs.writeFileSync(file, binding('new!'));
  expect(run(script).trim()).toBe('new!');
  // Same size, later mtime.
  fs.writeFileSync(file, binding('nil!'));
  fs.utimesSync(file, new Date(), new Date(Date.now() + 60_000));
  expect(run(script).trim()).toBe('nil!');
  expect(cachedJs()).toHaveLength(3);
});

test('other packages, and every file when the cache is off, load as node loads them', () => {
  install('some-lib', 'index.js', binding('plain'));
  install('@cdktf/provider-example', 'lib/index.js', binding('off'));
  expect(run(`console.log(require('some-lib').value)`).trim()).toBe('plain');
  expect(cachedJs()).toEqual([]);
  expect(run(`console.log(require('@cdktf/provider-example/lib').value)`, '').trim()).toBe('off');
  expect(fs.existsSync(cacheDir)).toBe(false);
});

test('TypeScript is compiled by swc and cached by content; a type error does not stop it (tsc checks types)', () => {
  const file = path.join(dir, 'app.ts');
  fs.writeFileSync(file, `const n: number = 'not a number' as any as number;\nexport const answer: number = 42;\nconsole.log(answer, typeof n);\n`);
  expect(run(`require(${JSON.stringify(file)})`).trim()).toBe('42 string');
  const compiled = fs.readdirSync(cacheDir, { recursive: true }).filter((f) => String(f).endsWith('.js'));
  expect(compiled).toHaveLength(1);
  fs.appendFileSync(file, `console.log('changed');\n`);
  expect(run(`require(${JSON.stringify(file)})`).trim().split('\n')).toEqual(['42 string', 'changed']);
});
