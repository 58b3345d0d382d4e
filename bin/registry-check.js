#!/usr/bin/env node
'use strict';
// Runs the TypeScript CLI through the project's swc require hook: no build step, the sources are what ships.
require('../scripts/register-ts.js');
const { main } = require('../lib/check/cli.ts');

main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`registry-check: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  },
);
