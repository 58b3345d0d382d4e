// Two things cdktf does on every load or token that tests never use, and that cost a synth test most of its time.
//
// cdktf records a full stack trace for every token it creates (shown only when a token fails to resolve).
// Under jest each trace goes through source-map-support, which parses the inline source maps of the provider
// bindings: about 40% of a synth test's time. Tests do not read creation stacks, so they are not recorded here;
// `npm run synth` and `cdktf deploy` keep them.
jest.mock('cdktf/lib/tokens/private/stack-trace', () => ({ captureStackTrace: () => [] }));

// cdktf requires `archiver` (~200 modules) at start-up and uses it only to zip ARCHIVE assets, which this stack has
// none of (its one asset, the Gateway API chart, is copied as a directory):
// it loads on first use instead (~0.2 s per test file; scripts/register-ts.js does the same for synth). The mock
// names the copy cdktf's own require resolves to (today cdktf/node_modules/archiver).
jest.mock(require.resolve('archiver', { paths: [require.resolve('cdktf')] }), () => {
  let archiver: any;
  const load = () => (archiver ??= jest.requireActual(require.resolve('archiver', { paths: [require.resolve('cdktf')] })));
  return new Proxy(function lazyArchiver() {}, {
    apply: (_target, self, args) => Reflect.apply(load(), self, args),
    construct: (_target, args) => Reflect.construct(load(), args),
    get: (_target, key) => load()[key],
    has: (_target, key) => key in load(),
  });
});
