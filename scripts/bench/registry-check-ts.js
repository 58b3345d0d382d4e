// registry-check the way it started before it shipped compiled (the bench's "old way" rows): bin/registry-check.js
// as it was then, running the TypeScript sources through the project's swc require hook.
'use strict';
require('../register-ts.js');
const { main } = require('../../lib/check/cli.ts');

main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`registry-check: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  },
);
