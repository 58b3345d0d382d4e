// Runs TypeScript sources with Node by stripping types through swc (no type-check: `npm test` runs tsc).
// Node's CommonJS hook and @swc/core's transformSync are all it takes; it starts ~2x faster than tsx (no ESM loader
// thread, no esbuild child process, no source-map install). Two more things keep `cdktf synth` fast (BENCHMARKS.md):
// - swc's output is cached by content hash, so an unchanged file never loads swc's 35 MB native binding;
// - `archiver` (~200 modules cdktf requires at startup but only uses in a child process that zips assets) loads lazily.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

const options = {
  jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};
// REGISTER_TS_CACHE_DIR: where compiled files go ('' turns the cache off). The benchmark points it at a temp dir.
const cacheDir = process.env.REGISTER_TS_CACHE_DIR ?? path.join(__dirname, '..', 'node_modules', '.cache', 'register-ts');

let swc;
let salt;
function compile(source, filename) {
  swc ??= require('@swc/core');
  return swc.transformSync(source, { ...options, filename }).code;
}

function cachedCompile(source, filename) {
  // The key covers everything the output depends on: the source, its path (in the source map), swc and its options.
  salt ??= `${require('@swc/core/package.json').version}\0${JSON.stringify(options)}\0`;
  const key = crypto.createHash('sha256').update(salt).update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, key.slice(0, 2), `${key.slice(2)}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    // not cached yet
  }
  const code = compile(source, filename);
  try {
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    // Write then rename: a concurrent reader (jest workers, two synths) never sees half a file.
    const partial = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(partial, code);
    fs.renameSync(partial, cached);
  } catch {
    // a read-only node_modules only costs speed
  }
  return code;
}

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  module._compile(cacheDir ? cachedCompile(source, filename) : compile(source, filename), filename);
};

// A stand-in for a module that is loaded on first use (a call or a property access) instead of at require time.
function lazyModule(request, parent) {
  let loaded;
  const load = () => (loaded ??= originalLoad(request, parent, false));
  return new Proxy(function lazy() {}, {
    apply: (_target, self, args) => Reflect.apply(load(), self, args),
    construct: (_target, args) => Reflect.construct(load(), args),
    get: (_target, key) => load()[key],
    has: (_target, key) => key in load(),
  });
}

const LAZY = new Set(['archiver']);
const originalLoad = Module._load;
Module._load = function loadLazily(request, parent, isMain) {
  if (LAZY.has(request) && !isMain) return lazyModule(request, parent);
  return originalLoad.apply(this, arguments);
};
