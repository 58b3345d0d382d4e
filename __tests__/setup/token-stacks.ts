// cdktf records a full stack trace for every token it creates (shown only when a token fails to resolve).
// Under jest each trace goes through source-map-support, which parses the inline source maps of the provider
// bindings: about 40% of a synth test's time. Tests do not read creation stacks, so they are not recorded here;
// `npm run synth` and `cdktf deploy` keep them.
jest.mock('cdktf/lib/tokens/private/stack-trace', () => ({ captureStackTrace: () => [] }));
