/**
 * What a feature is given: the registry's values and shared parts. A feature (lib/operations/mirror.ts, ...) is one
 * construct with a static `attach(context)` that builds it from these and attaches it through the shared parts'
 * methods: `pod.addCache()`, `exposure.addRoute()`, `networkPolicy.protect()`, `nodeTrust?.addMirror()`,
 * `outputs.add()`. The stack builds the context and lists the features (lib/registry-stack.ts).
 */
import type { Construct } from 'constructs';
import type { RegistryAuth } from './auth';
import type { EnvironmentSettings } from './environments';
import type { ExposureBinding } from './exposure';
import type { RegistryNetworkPolicy } from './network-policy';
import type { NodeTrustTargets } from './node-trust/targets';
import type { RegistryOutputs } from './outputs';
import type { RegistryPod } from './registry/pod';
import type { RegistryServer, RegistryServerProps } from './registry/server';
import type { StorageBinding } from './storage';
import type { RegistryTls } from './tls';
import type { StackVariables } from './variables/stack-variables';

/** Given to features of the registry pod, which are built before the server (the Redis cache, the GC window). */
export interface PodContext {
  /** Where features add their construct (the stack). */
  readonly scope: Construct;
  readonly environment: EnvironmentSettings;
  /** The stack's variables: a feature reads its own (`mirror_*`, `gc_*`, ...); they are declared on first use. */
  readonly variables: StackVariables;
  /** The registry's namespace (a reference to it: resources there are created after it). */
  readonly namespace: string;
  /** The registry's app name: features name their objects after it. */
  readonly appName: string;
  /** The registry image (the mirror and GC run the same binary). */
  readonly image: string;
  /** The registry's DNS names (`registry_domains`). */
  readonly domains: string[];
  /** Requests and limits of a registry container (`cpu_request`, `memory_request`, `memory_limit`). */
  readonly resources: RegistryServerProps['resources'];
  readonly tls: RegistryTls;
  readonly auth: RegistryAuth;
  readonly storage: StorageBinding;
  /** What features add to the registry pod before the server is built. */
  readonly pod: RegistryPod;
}

/** Given to features built after the registry, its exposure, network policy and outputs. */
export interface RegistryContext extends PodContext {
  readonly server: RegistryServer;
  /** `addRoute()`: one more port on the registry's names. */
  readonly exposure: ExposureBinding;
  /** `protect()`: another workload admitted from the same peers. */
  readonly networkPolicy: RegistryNetworkPolicy;
  /**
   * `addHost()`, `addMirror()`: what the nodes trust; the stack builds node trust after the features.
   * @default - none: the environment has no node trust
   */
  readonly nodeTrust?: NodeTrustTargets;
  /** `add()`: a feature's own outputs. */
  readonly outputs: RegistryOutputs;
}
