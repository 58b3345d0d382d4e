/**
 * The one place tests (and the bench) synthesize stacks and read cdk.tf.json: environments to build, a stack or a
 * lone construct in a fresh app, and typed look-ups by construct path, Terraform address or reference.
 */
import { DefaultTokenResolver, StringConcat, Testing, TerraformStack, Tokenization } from 'cdktf';
import type { Construct } from 'constructs';
import { ENVIRONMENTS, EXAMPLE_ENVIRONMENTS, type EnvironmentSettings } from '../lib/environments';
import { Exposure } from '../lib/exposure';
import { Storage } from '../lib/storage';
import { RegistryStack } from '../lib/registry-stack';
import type { EnvironmentVariables } from '../lib/variables/catalog';
import { StackVariables } from '../lib/variables/stack-variables';

/** A stack's cdk.tf.json, parsed. */
export interface Synthesized {
  resource: Record<string, Record<string, any>>;
  variable: Record<string, any>;
  output: Record<string, any>;
  import?: any[];
  removed?: any[];
  terraform: any;
  provider: Record<string, any[]>;
  data?: Record<string, Record<string, any>>;
}

const dev = ENVIRONMENTS.find((e) => e.name === 'dev')!;

/**
 * The shipped and example environments plus four that exercise the other structural choices: provided TLS on shared
 * storage-class storage behind a configmap-only controller, an existing claim with no exposure, a route attached to
 * a Gateway that exists (on a named listener), and AWS S3 by pod identity with Redis over TLS and an autoscaler.
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
    name: 'claim',
    tlsMode: 'generated',
    storage: Storage.existingClaim(),
    exposure: Exposure.none(),
    serviceType: 'LoadBalancer',
    variables: { ...dev.variables, existing_claim: 'registry-data', monitoring_namespace: 'monitoring' },
  },
  {
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

/** A RegistryStack for `env` in a fresh app (construction validates the environment and variable defaults). */
export function buildStack(env: EnvironmentSettings): RegistryStack {
  return new RegistryStack(Testing.app(), `registry-${env.name}`, { environment: env });
}

export function synth(env: EnvironmentSettings): { stack: RegistryStack; json: Synthesized } {
  const stack = buildStack(env);
  return { stack, json: JSON.parse(Testing.synth(stack)) };
}

/**
 * One construct alone: `build` runs in an empty stack of a fresh app (with the stack's variables for `env`, for
 * strategies that read theirs), and the stack's cdk.tf.json comes back beside what `build` returned.
 */
export function synthConstruct<T>(
  build: (scope: Construct, variables: StackVariables) => T,
  env: EnvironmentSettings = dev,
): { result: T; json: Synthesized; variables: StackVariables; resolve: (value: unknown) => any } {
  const stack = new TerraformStack(Testing.app(), 'construct-under-test');
  const variables = new StackVariables(stack, env);
  const result = build(stack, variables);
  // Attributes are tokens until resolved in their stack: `resolve(result.caPem)` gives the Terraform expression.
  return { result, json: JSON.parse(Testing.synth(stack)), variables, resolve: (value) => Tokenization.resolve(value, { scope: stack, resolver: new DefaultTokenResolver(new StringConcat()) }) };
}

/** Every resource of a type, as a list. */
export function resourcesOf(json: Pick<Synthesized, 'resource'>, type: string): any[] {
  return Object.values(json.resource?.[type] ?? {});
}

/** The only resource of a type (fails when there are none or several). */
export function only(json: Pick<Synthesized, 'resource'>, type: string): any {
  return onlyWithAddress(json, type)[1];
}

/** The only resource of a type and its Terraform address. */
export function onlyWithAddress(json: Pick<Synthesized, 'resource'>, type: string): [string, any] {
  const entries = Object.entries(json.resource?.[type] ?? {});
  if (entries.length !== 1) throw new Error(`expected one ${type}, found ${entries.length}`);
  return [`${type}.${entries[0][0]}`, entries[0][1]];
}

/** Logical ids are the construct path below the stack joined by '_', then a hash: `tls/secret` -> `tls_secret_6CB7...`. */
function find(json: Pick<Synthesized, 'resource'>, type: string, path: string): [string, any] {
  const prefix = `${path.replace(/\//g, '_')}_`;
  const entry = Object.entries(json.resource?.[type] ?? {}).find(([id]) => id.startsWith(prefix) && !id.slice(prefix.length).includes('_'));
  if (!entry) throw new Error(`no ${type} at ${path}`);
  return entry;
}

/** The Terraform address of the resource at a construct path, e.g. kubernetes_secret_v1.tls_secret_6CB779E3. */
export function address(json: Pick<Synthesized, 'resource'>, type: string, path: string): string {
  return `${type}.${find(json, type, path)[0]}`;
}

/** The resource at a construct path below the stack, e.g. `auth/htpasswd`. */
export function byPath(json: Pick<Synthesized, 'resource'>, type: string, path: string): any {
  return find(json, type, path)[1];
}

/** The resource at a Terraform address. */
export function resourceAt(json: Pick<Synthesized, 'resource'>, resourceAddress: string): any {
  const [type, id] = resourceAddress.split('.');
  const resource = json.resource?.[type]?.[id];
  if (!resource) throw new Error(`cdk.tf.json has no ${resourceAddress}`);
  return resource;
}

const NAME_REFERENCE = /^\$\{([a-z0-9_]+\.[A-Za-z0-9_-]+)\.metadata\[0\]\.name\}$/;

/** `${kubernetes_secret_v1.tls_secret_6CB779E3.metadata[0].name}` -> `kubernetes_secret_v1.tls_secret_6CB779E3`. */
export function referencedAddress(expression: string): string {
  const match = NAME_REFERENCE.exec(expression);
  if (!match) throw new Error(`not a reference to a resource's metadata name: ${expression}`);
  return match[1];
}

/** `${var.name}` -> the variable's default; anything else unchanged. */
export function resolveVariable(json: Pick<Synthesized, 'variable'>, value: string): unknown {
  const match = /^\$\{var\.([a-z0-9_]+)\}$/.exec(value);
  if (!match) return value;
  const variable = json.variable[match[1]];
  if (!variable || variable.default === undefined) throw new Error(`variable ${match[1]} has no default in cdk.tf.json`);
  return variable.default;
}
