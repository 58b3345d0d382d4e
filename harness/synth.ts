/**
 * The one place tests (and the bench) synthesize stacks: environments to build, a stack or a lone construct in a
 * fresh app. The look-ups into cdk.tf.json, and the test environments synthesized once per jest run, are in json.ts
 * (no cdktf import: a test that only reads synthesized JSON does not load cdktf and the provider bindings).
 */
import { DefaultTokenResolver, StringConcat, Testing, TerraformStack, Tokenization } from 'cdktf';
import type { Construct } from 'constructs';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ENVIRONMENTS, EXAMPLE_ENVIRONMENTS, type EnvironmentSettings } from '../lib/environments';
import { Exposure } from '../lib/exposure';
import { Storage } from '../lib/storage';
import { RegistryStack } from '../lib/registry-stack';
import type { EnvironmentVariables } from '../lib/variables/catalog';
import { StackVariables } from '../lib/variables/stack-variables';
import type { Synthesized } from './json';

export * from './json';

const dev = ENVIRONMENTS.find((e) => e.name === 'dev')!;

/** A route attached to a Gateway that exists, on a named listener. */
const GATEWAY_ATTACH: EnvironmentSettings = {
  name: 'gateway-attach',
  tlsMode: 'generated',
  storage: Storage.hostPath(),
  exposure: Exposure.gateway({ mode: 'attach' }),
  serviceType: 'ClusterIP',
  variables: {
    ...dev.variables,
    gateway_name: 'shared-gateway',
    gateway_namespace: 'gateway-system',
    gateway_section_name: 'registry-tls',
    gateway_port: 443,
    gateway_proxy_namespace: 'envoy-gateway-system',
    // Envoy Gateway's default: the proxies run in its own namespace, labelled with the Gateway they serve.
    gateway_proxy_pod_labels: ['gateway.envoyproxy.io/owning-gateway-name=shared-gateway', 'gateway.envoyproxy.io/owning-gateway-namespace=gateway-system'],
  },
};

/**
 * The shipped and example environments plus eight that exercise the other structural choices: provided TLS on shared
 * storage-class storage behind a configmap-only controller, an existing claim with no exposure, GC with deleteUntagged, S3 with redirects on, a route attached to
 * a Gateway that exists (on a named listener), AWS S3 by pod identity with Redis over TLS and an autoscaler, a created
 * Gateway without the cache (example-gateway has it), and the cache behind an existing Gateway.
 */
export const TEST_ENVIRONMENTS: readonly EnvironmentSettings[] = [
  ...ENVIRONMENTS,
  ...EXAMPLE_ENVIRONMENTS,
  {
    name: 'shared',
    tlsMode: 'provided',
    storage: Storage.storageClass({ accessMode: 'ReadWriteMany' }),
    exposure: Exposure.ingressNginx.configmapOnly(),
    serviceType: 'ClusterIP',
    preventDestroy: true,
    variables: { ...dev.variables, replicas: 2, storage_class: 'nfs-client' },
  },
  {
    // AWS S3 by pod identity (IRSA), Redis over TLS, an autoscaler: the S3 choices example-s3 does not make.
    name: 's3-aws',
    tlsMode: 'generated',
    storage: Storage.s3({ credentials: 'pod-identity' }),
    redis: { tls: true },
    autoscaling: true,
    exposure: Exposure.none(),
    serviceType: 'LoadBalancer',
    variables: {
      ...dev.variables,
      replicas: 3,
      max_replicas: 6,
      s3_bucket: 'example-registry-images',
      s3_region: 'eu-west-1',
      s3_role_arn: 'arn:aws:iam::111122223333:role/registry',
      s3_encrypt: true,
      redis_addresses: ['registry-cache.abc123.clustercfg.euw1.cache.amazonaws.com:6379'],
    },
  },
  {
    // example-s3 on a store whose certificate clients trust (no private CA): blob GETs redirect to the store.
    ...EXAMPLE_ENVIRONMENTS.find((e) => e.name === 'example-s3')!,
    name: 's3-trusted-store',
    storage: Storage.s3({ credentials: 'access-keys' }),
    variables: { ...EXAMPLE_ENVIRONMENTS.find((e) => e.name === 'example-s3')!.variables, s3_disable_redirect: false },
  },
  {
    // GC that also deletes untagged manifests: only the registry:3 line may run it (a 2.x image is refused).
    name: 'gc-untagged',
    tlsMode: 'generated',
    storage: Storage.hostPath(),
    exposure: Exposure.ingressNginx.install(),
    serviceType: 'ClusterIP',
    garbageCollection: { deleteUntagged: true },
    variables: { ...dev.variables },
  },
  {
    name: 'claim',
    tlsMode: 'generated',
    storage: Storage.existingClaim(),
    exposure: Exposure.none(),
    serviceType: 'LoadBalancer',
    variables: { ...dev.variables, existing_claim: 'registry-data', monitoring_namespace: 'monitoring' },
  },
  GATEWAY_ATTACH,
  {
    // example-gateway without the pull-through cache: one listener per name, one route on the Gateway as a whole.
    ...EXAMPLE_ENVIRONMENTS.find((e) => e.name === 'example-gateway')!,
    name: 'gateway-create',
    mirror: undefined,
  },
  {
    // HTTPS on an existing Gateway's listener (NGINX Gateway Fabric), the registry's certificate generated as before:
    // the Gateway checks the registry against the generated CA.
    ...GATEWAY_ATTACH,
    name: 'https-attach',
    exposure: Exposure.gateway({ mode: 'attach', route: 'https', dataPlane: 'nginx-gateway-fabric' }),
    variables: { ...GATEWAY_ATTACH.variables, gateway_section_name: 'https', gateway_proxy_namespace: '', gateway_proxy_pod_labels: ['gateway.networking.k8s.io/gateway-name=shared-gateway'] },
  },
  {
    // cert-manager with a private CA issuer behind TLS passthrough: end-to-end TLS, node trust of the issuer's CA.
    ...GATEWAY_ATTACH,
    name: 'cert-manager-passthrough',
    tlsMode: 'cert-manager',
    nodeTrust: true,
    // cert_manager_ca_pem is set per run (a sensitive input): the lifecycle and validation runs give it.
    variables: { ...GATEWAY_ATTACH.variables, cert_manager_issuer_name: 'registry-ca', cert_manager_issuer_kind: 'Issuer' },
  },
  {
    // ingress-nginx users who cannot move yet: an HTTP Ingress (TLS at the controller on 443).
    name: 'ingress-http',
    tlsMode: 'generated',
    storage: Storage.hostPath(),
    exposure: Exposure.ingressNginx.http(),
    serviceType: 'ClusterIP',
    variables: { ...dev.variables },
  },
  {
    // The cache behind an existing Gateway: each route on its own named listener.
    ...GATEWAY_ATTACH,
    name: 'gateway-attach-mirror',
    nodeTrust: true,
    mirror: {},
    variables: { ...GATEWAY_ATTACH.variables, gateway_mirror_section_name: 'registry-mirror-tls', mirror_external_port: 444 },
  },
];

/** A test environment by name, optionally with settings replaced (variables are merged, not replaced). */
export function environment(name: string, overrides: Partial<EnvironmentSettings> = {}): EnvironmentSettings {
  const base = TEST_ENVIRONMENTS.find((e) => e.name === name);
  if (!base) throw new Error(`no test environment ${name}`);
  return { ...base, ...overrides, variables: { ...base.variables, ...overrides.variables } };
}

/** The same environment with some variable defaults replaced. */
export function withVariables(env: EnvironmentSettings, variables: EnvironmentVariables | Record<string, unknown>): EnvironmentSettings {
  return { ...env, variables: { ...env.variables, ...variables } as EnvironmentVariables };
}

/**
 * The outdir of every test app. `Testing.app()` makes a new temp directory per app and never removes it (tens of
 * thousands piled up under /tmp); nothing is written to it (Testing.synth returns the JSON), so one directory, made
 * here with its `stacks/` (the App checks for both, then creates them: processes starting together would race), serves
 * every process.
 */
const TEST_APP_OUTDIR = path.join(tmpdir(), 'registry-test-app-outdir');
mkdirSync(path.join(TEST_APP_OUTDIR, 'stacks'), { recursive: true });

/** A cdktf app for a test, with the shared outdir. */
export function testApp() {
  return Testing.app({ outdir: TEST_APP_OUTDIR });
}

/** A RegistryStack for `env` in a fresh app (construction validates the environment and variable defaults). */
export function buildStack(env: EnvironmentSettings): RegistryStack {
  return new RegistryStack(testApp(), `registry-${env.name}`, { environment: env });
}

/**
 * Stacks this process has synthesized, by environment (`environmentKey`): the specs (one jest file) synthesize the
 * same environments again and again (117 synths of 31 environments, 2/3 of their synth CPU). A hit gives the same
 * stack and a fresh parse of the same cdk.tf.json text; a failing synth is never kept, so it throws every time.
 */
const synthesizedStacks = new Map<string, { stack: RegistryStack; text: string }>();
const instanceIds = new WeakMap<object, number>();
let nextInstanceId = 0;

/**
 * The environment as text: plain objects (keys in their order), arrays and primitives by value (undefined kept apart
 * from missing), any other object (a Storage or Exposure strategy, a function) by identity, never by its fields,
 * which need not say all it does (a closure, a private field).
 */
function environmentKey(env: EnvironmentSettings): string {
  const identity = (value: object) => {
    if (!instanceIds.has(value)) instanceIds.set(value, nextInstanceId++);
    return `<instance ${instanceIds.get(value)}>`;
  };
  return JSON.stringify(env, (_key, value) => {
    if (value === undefined) return '<undefined>';
    if (typeof value === 'function') return identity(value);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return identity(value);
    }
    return value;
  });
}

export function synth(env: EnvironmentSettings): { stack: RegistryStack; json: Synthesized } {
  const key = environmentKey(env);
  let entry = synthesizedStacks.get(key);
  if (!entry) {
    const stack = buildStack(env);
    entry = { stack, text: Testing.synth(stack) };
    synthesizedStacks.set(key, entry);
  }
  return { stack: entry.stack, json: JSON.parse(entry.text) };
}

/**
 * One construct alone: `build` runs in an empty stack of a fresh app (with the stack's variables for `env`, for
 * strategies that read theirs), and the stack's cdk.tf.json comes back beside what `build` returned.
 */
export function synthConstruct<T>(
  build: (scope: Construct, variables: StackVariables) => T,
  env: EnvironmentSettings = dev,
): { result: T; json: Synthesized; variables: StackVariables; resolve: (value: unknown) => any } {
  const stack = new TerraformStack(testApp(), 'construct-under-test');
  const variables = new StackVariables(stack, env);
  const result = build(stack, variables);
  // Attributes are tokens until resolved in their stack: `resolve(result.caPem)` gives the Terraform expression.
  return { result, json: JSON.parse(Testing.synth(stack)), variables, resolve: (value) => Tokenization.resolve(value, { scope: stack, resolver: new DefaultTokenResolver(new StringConcat()) }) };
}
