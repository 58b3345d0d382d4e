import type { Construct } from 'constructs';
import type { IResolvable } from 'cdktf';
import type { PodPeer } from '../network-policy';
import type { Rule } from '../rules';
import type { SettingCheck } from '../storage/strategy';
import type { StackVariables } from '../variables/stack-variables';

/** The in-cluster Service an exposure forwards client connections to. */
export interface ServiceTarget {
  readonly namespace: string;
  readonly serviceName: string;
  readonly port: number;
}

/** One more port clients reach on the same names (a pull-through cache beside the registry): `exposure.addRoute()`. */
export interface ExposureRoute {
  /** The port clients connect to. */
  readonly externalPort: number;
  readonly target: ServiceTarget;
}

export interface ExposureBindOptions {
  /** The registry Service. */
  readonly target: ServiceTarget;
  /** The stack's variables: an exposure reads its own (external_port, ingress_namespace, ...). */
  readonly variables: StackVariables;
  /**
   * The registry's TLS: an exposure that terminates TLS serves its Secret or checks the registry against its CA.
   * @default - none: only exposures that pass TLS through may be bound without it
   */
  readonly tls?: ExposedTls;
}

/** What an exposure may use of the registry's TLS. */
export interface ExposedTls {
  /** The `kubernetes.io/tls` Secret the registry serves, in its namespace. */
  readonly secretName: string;
  /** PEM of the CA that issued it (public material); "" when clients trust the issuer already (a public ACME CA). */
  readonly caPem: string;
  /** Whether `caPem` is set: true, or a Terraform condition (cert-manager's CA variable). */
  readonly hasCa: boolean | IResolvable;
}

/** What the rest of the stack needs from an exposure once it is bound. */
export interface ExposureBinding {
  /**
   * Routes one more port on the registry's names to another Service (a feature's: the pull-through cache). Read when
   * the stack is synthesized, so a feature added after the exposure is bound still gets its route. Only exposures
   * whose `routesAdditionalPorts` is true take one; the others refuse it.
   */
  addRoute(route: ExposureRoute): void;
  /**
   * Namespaces whose pods forward client connections to the registry port (the network policy admits them).
   * @default - none: clients reach the Service directly
   */
  readonly peerNamespaces?: string[];
  /**
   * Pods (a namespace and pod labels) that forward client connections to the registry port, when a whole namespace
   * would admit too much (a Gateway's data plane in a shared namespace).
   * @default - none
   */
  readonly peerPods?: PodPeer[];
  /** What the operator must still do by hand, if anything (the `manual_steps` output). */
  readonly manualSteps?: string;
  /**
   * A command that shows whether the exposure took the registry's route (the `route_status_command` output).
   * @default - none: nothing reports a status
   */
  readonly statusCommand?: string;
  /**
   * Source networks that reach the registry port directly (no proxy in front): the network policy admits them.
   * @default - none
   */
  readonly clientCidrs?: string[];
}

/** Variables whose rules depend on the exposure (the registry's names and addresses, the cache's port, ...). */
export type ExposedVariable = 'registry_domains' | 'registry_ip_addresses' | 'mirror_external_port' | 'gateway_section_name';

/** What an exposure's added rules may look at. */
export interface ExposedVariableContext {
  /** Whether the environment runs the pull-through cache (a route on a second port). */
  readonly mirror: boolean;
  /** The default another variable has in this environment (for cross-variable rules). */
  defaultOf(name: string): unknown;
}

/**
 * How clients outside the cluster reach the registry: a strategy object chosen per environment with a static
 * factory (`Exposure.ingressNginx.install()`, `Exposure.none()`, ...) and bound once by the stack. A new exposure is
 * one file with a subclass and one factory in lib/exposure/index.ts.
 */
export abstract class ExposureStrategy {
  /** Short name for messages and docs. */
  abstract readonly kind: string;

  /**
   * The port clients connect to. Known before anything is built: certificates, pull secrets and node trust all
   * name "host:port".
   */
  abstract clientPort(variables: StackVariables): string;

  /** Checks the strategy's own settings. */
  validate(_check: SettingCheck): void {}

  /**
   * Whether the exposure needs `tlsMode: 'cert-manager'` (a Gateway listener it creates gets its certificate from
   * the same issuer).
   */
  get requiresCertManager(): boolean {
    return false;
  }

  /**
   * Whether clients meet a certificate served by the front door on 443 (an HTTPS listener, an HTTP Ingress) rather
   * than the registry's own on its port: node trust, which installs the registry's CA for `host:port`, does not apply.
   */
  get terminatesTls(): boolean {
    return false;
  }

  /** Whether the binding's `addRoute` routes a second port (environments with a mirror need it). */
  get routesAdditionalPorts(): boolean {
    return false;
  }

  /**
   * Rules this exposure adds to a variable (a Gateway routes by SNI: names only, no IPs; the cache's port must not be
   * the registry's).
   * @default - none
   */
  addedRules(_variable: ExposedVariable, _context: ExposedVariableContext): readonly Rule[] {
    return [];
  }

  /** `addRoute` of an exposure that routes one port only. */
  protected refuseRoutes(): (route: ExposureRoute) => void {
    return () => {
      throw new Error(`exposure ${this.kind}: addRoute: is not allowed; expected an exposure that routes a second port on the registry names: Exposure.ingressNginx.*() or Exposure.gateway().`);
    };
  }

  /** Creates the exposure's resources in `scope`. */
  abstract bind(scope: Construct, options: ExposureBindOptions): ExposureBinding;
}
