#!/usr/bin/env node
'use strict';
// Runs the CLI compiled to dist/ by `npm run build:check` (the `prepare` script, which `npm ci` runs): starting it
// needs no compiler. In a checkout whose dist/ is missing or older than the sources (lib/check edited or pulled
// since the build), it runs the TypeScript sources through the project's swc require hook instead, and says so.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const BUILD = 'npm run build:check';

const mtime = (file) => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs;

/** Why dist/ cannot be used (missing, or older than a source next to it), or undefined when it can. */
function distProblem() {
  if (mtime(path.join(DIST, 'lib', 'check', 'cli.js')) === undefined) return 'dist/ is missing';
  let sources;
  try {
    sources = fs.readdirSync(path.join(ROOT, 'lib', 'check')).filter((n) => n.endsWith('.ts')).map((n) => path.join('lib', 'check', n));
  } catch {
    return undefined; // shipped without sources: nothing to compare with
  }
  // The lib modules outside lib/check that the build compiled along (lib/rules.ts).
  for (const name of fs.readdirSync(path.join(DIST, 'lib'))) {
    if (name.endsWith('.js')) sources.push(path.join('lib', name.replace(/\.js$/, '.ts')));
  }
  for (const source of sources) {
    const built = mtime(path.join(DIST, source.replace(/\.ts$/, '.js')));
    const edited = mtime(path.join(ROOT, source));
    if (edited !== undefined && (built === undefined || edited > built)) return `dist/ is older than ${source}`;
  }
  return undefined;
}

function loadCli() {
  const problem = distProblem();
  if (!problem) return require(path.join(DIST, 'lib', 'check', 'cli.js'));
  let hook;
  try {
    hook = require.resolve(path.join(ROOT, 'scripts', 'register-ts.js'));
    require.resolve('@swc/core', { paths: [ROOT] });
  } catch {
    process.stderr.write(`registry-check: ${problem} and the TypeScript sources cannot run without it. Build it with \`${BUILD}\` `
      + `in ${ROOT} (npm ci and npm install run it).\n`);
    process.exit(1);
  }
  process.stderr.write(`registry-check: ${problem}: running the TypeScript sources (slower start); \`${BUILD}\` rebuilds it.\n`);
  require(hook);
  return require(path.join(ROOT, 'lib', 'check', 'cli.ts'));
}

const { main } = loadCli();
main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`registry-check: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  },
);
