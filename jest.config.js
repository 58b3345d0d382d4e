/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  // swc strips types without checking them; `tsc --noEmit` is its own step in `npm test`.
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // One worker per core: jest's default (cores - 1) is a single worker on 2 cores, and the suites spend part of
  // their time waiting on real registries, nginx and terraform (all suites: 58 s -> 46 s on a 2-core machine).
  maxWorkers: '100%',
  setupFilesAfterEnv: ['<rootDir>/__tests__/setup/cdktf.ts'],
};
