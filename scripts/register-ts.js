// Runs TypeScript sources with Node by stripping types through swc (no type-check: `npm test` runs tsc).
// Node's CommonJS hook and @swc/core's transformSync are all it takes; it starts ~2x faster than tsx (no ESM loader
// thread, no esbuild child process, no source-map install). Three more things keep `cdktf synth` fast (BENCHMARKS.md):
// - swc's output is cached by content hash, so an unchanged file never loads swc's 35 MB native binding;
// - cdktf's and the providers' JavaScript is read from a cached copy without its inline source map: 70% of the bytes
//   of the provider bindings (the Deployment and DaemonSet bindings are 4.8 MB each, 3.4 MB of it base64 maps);
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
  writeCache(cached, code);
  return code;
}

function writeCache(cached, code) {
  try {
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    // Write then rename: a concurrent reader (jest workers, two synths) never sees half a file.
    const partial = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(partial, code);
    fs.renameSync(partial, cached);
  } catch {
    // a read-only node_modules only costs speed
  }
}

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  module._compile(cacheDir ? cachedCompile(source, filename) : compile(source, filename), filename);
};

// Packages shipped with an inline source map in every file (jsii output). Node only reads the map with
// --enable-source-maps; then frames in these files point at their .js lines instead of the .ts they came from.
const STRIPPED = /[\\/]node_modules[\\/](cdktf|@cdktf[\\/]provider-[^\\/]+)[\\/]lib[\\/]/;
const INLINE_MAP = '\n//# sourceMappingURL=data:';

function withoutInlineMap(filename) {
  // Installed files change only by reinstalling: the key is the path, size and mtime (a stat, not a read), and
  // what is cut off.
  const { size, mtimeMs } = fs.statSync(filename);
  const key = crypto.createHash('sha256').update(`${INLINE_MAP}\0${filename}\0${size}\0${mtimeMs}`).digest('hex');
  const cached = path.join(cacheDir, 'js', key.slice(0, 2), `${key.slice(2)}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    // not cached yet
  }
  // Cut the bytes before decoding: a slice of the decoded text would keep the whole file (map included) alive as
  // long as V8 keeps the module's source.
  const source = fs.readFileSync(filename);
  const map = source.lastIndexOf(INLINE_MAP);
  const code = (map < 0 ? source : source.subarray(0, map + 1)).toString('utf8');
  writeCache(cached, code);
  return code;
}

const loadJs = require.extensions['.js'];
require.extensions['.js'] = (module, filename) => {
  if (!cacheDir || !STRIPPED.test(filename)) return loadJs(module, filename);
  module._compile(withoutInlineMap(filename), filename);
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
