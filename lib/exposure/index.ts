/**
 * How clients reach the registry, chosen per environment: `exposure: Exposure.ingressNginx.install()` and so on.
 * Each exposure is one file with an `ExposureStrategy` subclass; this module is the list of factories.
 */
import { GatewayExposure, type GatewayExposureOptions } from './gateway';
import { IngressNginxExposure, IngressNginxHttpExposure } from './ingress-nginx';
import { NoExposure } from './none';
import { ExposureStrategy } from './strategy';

export const Exposure = {
  /** ingress-nginx's TCP services (L4 pass-through; the registry keeps terminating TLS). */
  ingressNginx: {
    /** This stack installs ingress-nginx with a Helm release that routes the TCP port. */
    install: () => new IngressNginxExposure('install'),
    /** An ingress-nginx Helm release exists: import it and add the TCP route, keeping its other values. */
    adopt: () => new IngressNginxExposure('adopt'),
    /** ingress-nginx was not installed by Helm: patch its tcp-services ConfigMap; the operator adds one flag. */
    configmapOnly: () => new IngressNginxExposure('configmap-only'),
    /**
     * An HTTP Ingress on an ingress-nginx that exists (`ingress_class_name`): TLS at the controller on 443 with the
     * registry's certificate, no body limit, long timeouts, request buffering off, TLS again to the registry.
     */
    http: () => new IngressNginxHttpExposure(),
  },
  /**
   * Gateway API: a TLSRoute (TLS passthrough, routed by SNI) to the registry Service, on a Gateway that exists
   * (`{ mode: 'attach' }`) or one the stack creates (`{ mode: 'create' }`). The registry keeps terminating TLS.
   */
  gateway: (options: GatewayExposureOptions) => new GatewayExposure(options),
  /** No exposure: the Service alone (ClusterIP, NodePort or LoadBalancer). */
  none: () => new NoExposure(),
};

export type Exposure = ExposureStrategy;
export { ExposureStrategy };
export type { ExposureBinding, ExposureBindOptions, ServiceTarget } from './strategy';
export type { GatewayExposureOptions, GatewayMode, GatewayRoute } from './gateway';
export type { GatewayDataPlane } from './gateway-https';
