/**
 * `npm test` runs every `*.test.ts`; the synth-only `*.spec.ts` files run inside __tests__/specs.test.ts (one module
 * registry for all of them, see that file). Naming a spec on the command line (`npx jest __tests__/unit/tls.spec.ts`,
 * a directory, or an editor's "run this test") runs those specs as files of their own.
 */
const fs = require('node:fs');

// A spec file or a directory named on the command line: run its specs as files of their own (and not through the
// aggregate, which would run them twice).
const byPath = process.argv.slice(2).some((arg) =>
  /\.spec\.ts$/.test(arg) || (!arg.startsWith('-') && fs.existsSync(arg) && fs.statSync(arg).isDirectory()));

/** @type {import('jest').Config} */
module.exports = {
  // jest's node environment, plus a small helper per file that starts its short commands (harness/programs/spawner.ts).
  testEnvironment: '<rootDir>/__tests__/setup/environment.ts',
  roots: ['<rootDir>/__tests__'],
  testMatch: byPath ? ['**/*.spec.ts', '**/*.test.ts'] : ['**/*.test.ts'],
  testPathIgnorePatterns: byPath ? ['/node_modules/', '<rootDir>/__tests__/specs.test.ts'] : ['/node_modules/'],
  // swc strips types without checking them; the whole suite's global setup runs `tsc --noEmit` beside its synth.
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // One worker per core: jest's default (cores - 1) is a single worker on 2 cores, and the suites spend part of
  // their time waiting on real registries, nginx and terraform (all suites: 58 s -> 46 s on a 2-core machine).
  maxWorkers: '100%',
  // Tests and hooks that run terraform, a registry, nginx or ceph: under load on a 2-core machine one terraform init
  // + test took over jest's 5 s default. Tests that need longer still say so.
  testTimeout: 60_000,
  setupFilesAfterEnv: ['<rootDir>/__tests__/setup/cdktf.ts'],
  // The whole suite type-checks and synthesizes every test environment once (harness/json.ts reads them); a file
  // run by path synthesizes what it needs itself (and `npm run typecheck` type-checks).
  ...(byPath ? {} : {
    globalSetup: '<rootDir>/__tests__/setup/synthesize.ts',
    globalTeardown: '<rootDir>/__tests__/setup/cleanup-synthesized.ts',
  }),
};
