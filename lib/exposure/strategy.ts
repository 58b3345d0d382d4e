import type { Construct } from 'constructs';
import type { SettingCheck } from '../storage/strategy';
import type { StackVariables } from '../variables/stack-variables';

/** The in-cluster Service an exposure forwards client connections to. */
export interface ServiceTarget {
  readonly namespace: string;
  readonly serviceName: string;
  readonly port: number;
}

/** One more port clients reach on the same names (a pull-through cache beside the registry). */
export interface ExposureRoute {
  /** The port clients connect to. */
  readonly externalPort: number;
  readonly target: ServiceTarget;
}

export interface ExposureBindOptions {
  /** The registry Service. */
  readonly target: ServiceTarget;
  /**
   * More ports to route on the same names; only strategies whose `routesAdditionalPorts` is true take them.
   * @default - none
   */
  readonly additionalRoutes?: readonly ExposureRoute[];
  /** The stack's variables: an exposure reads its own (external_port, ingress_namespace, ...). */
  readonly variables: StackVariables;
}

/** What the rest of the stack needs from an exposure once it is bound. */
export interface ExposureBinding {
  /**
   * Namespaces whose pods forward client connections to the registry port (the network policy admits them).
   * @default - none: clients reach the Service directly
   */
  readonly peerNamespaces?: string[];
  /** What the operator must still do by hand, if anything (the `manual_steps` output). */
  readonly manualSteps?: string;
  /**
   * The exposure manages an ingress-nginx Helm release (install, adopt). Stacks without one release an earlier
   * one from state instead of uninstalling it.
   * @default false
   */
  readonly ownsIngressNginxRelease?: boolean;
  /**
   * Source networks that reach the registry port directly (no proxy in front): the network policy admits them.
   * @default - none
   */
  readonly clientCidrs?: string[];
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

  /** Whether `bind` routes `additionalRoutes` (environments with a mirror need it). */
  get routesAdditionalPorts(): boolean {
    return false;
  }

  /** Creates the exposure's resources in `scope`. */
  abstract bind(scope: Construct, options: ExposureBindOptions): ExposureBinding;
}
