import { Fn } from 'cdktf';
import type { RegistryNodeTrustProps } from './daemon-set';

/** A pull-through cache the nodes' runtimes use for one upstream (values may be Terraform expressions). */
export type NodeTrustMirror = NonNullable<RegistryNodeTrustProps['mirror']>;

/**
 * What node trust writes on every node: the registry's "host:port" names, and what features add (`addHost()`,
 * `addMirror()`). The stack builds the DaemonSet from it after the features: its script, mounts and environment
 * depend on whether there is a mirror.
 */
export class NodeTrustTargets {
  private readonly extraHosts: string[] = [];
  private cacheMirror?: NodeTrustMirror;

  /** @param registryHosts every "host:port" of the registry (may be a Terraform list expression) */
  constructor(private readonly registryHosts: string[]) {}

  /** The nodes trust the registry CA for one more "host:port" (a feature served on another port). */
  addHost(hostPort: string): void {
    this.extraHosts.push(hostPort);
  }

  /** The nodes pull `mirror.upstreamRegistry` images through a cache (one cache per stack). */
  addMirror(mirror: NodeTrustMirror): void {
    if (this.cacheMirror) throw new Error('node trust: addMirror: is not allowed twice; expected one pull-through cache per stack.');
    this.cacheMirror = mirror;
  }

  /** The DaemonSet's hosts and mirror, as RegistryNodeTrust takes them. */
  get props(): Pick<RegistryNodeTrustProps, 'registryHosts' | 'mirror'> {
    const registryHosts = this.extraHosts.length > 0 ? Fn.concat([this.registryHosts, this.extraHosts]) : this.registryHosts;
    return this.cacheMirror ? { registryHosts, mirror: this.cacheMirror } : { registryHosts };
  }
}
