import { Lazy } from 'cdktf';
import type { DeploymentV1SpecTemplateSpecContainerEnvFrom } from '@cdktf/provider-kubernetes/lib/deployment-v1';
import type { RegistryServer, RegistryServerProps } from './server';

/**
 * What features add to the registry pod (the Redis cache, the garbage-collection window's read-only switch). They
 * are built before the server, which reads this once (`serverProps`); adding afterwards is refused.
 */
export class RegistryPod {
  private cache?: RegistryServerProps['cache'];
  private readonly envFrom: DeploymentV1SpecTemplateSpecContainerEnvFrom[] = [];
  private server?: RegistryServer;

  /**
   * The registry's ConfigMap (config.yml), for a feature that runs the registry binary with the same config. A
   * reference resolved at synth: the server is built after the features.
   */
  readonly configMapName = Lazy.stringValue({ produce: () => this.built().configMap.metadata.name });

  /** The blob-descriptor cache shared by the replicas: its config.yml section and what the pod needs. */
  addCache(cache: NonNullable<RegistryServerProps['cache']>): void {
    this.refuseOnceBuilt('addCache');
    if (this.cache) throw new Error('registry pod: addCache: is not allowed twice; expected one blob-descriptor cache.');
    this.cache = cache;
  }

  /** ConfigMaps or Secrets whose keys become the registry container's environment when it starts. */
  addEnvFrom(...sources: DeploymentV1SpecTemplateSpecContainerEnvFrom[]): void {
    this.refuseOnceBuilt('addEnvFrom');
    this.envFrom.push(...sources);
  }

  /** What the server takes from the features; call once, when building the server, then `builtAs(server)`. */
  get serverProps(): Pick<RegistryServerProps, 'cache' | 'envFrom'> {
    return { cache: this.cache, ...(this.envFrom.length > 0 ? { envFrom: this.envFrom } : {}) };
  }

  /** The server is built: later additions would not reach it. */
  builtAs(server: RegistryServer): RegistryServer {
    this.server = server;
    return server;
  }

  private built(): RegistryServer {
    if (!this.server) throw new Error('registry pod: the server was never built from it (RegistryPod.builtAs).');
    return this.server;
  }

  private refuseOnceBuilt(method: string): void {
    if (this.server) throw new Error(`registry pod: ${method}: is not allowed after the server is built; expected the feature before the server in lib/registry-stack.ts.`);
  }
}
