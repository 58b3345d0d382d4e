import { REGISTRY_PORT } from '../registry/config';
import type { Construct } from 'constructs';
import { type ExposureBindOptions, type ExposureBinding, ExposureStrategy } from './strategy';

/** No exposure: the Service alone (pick `serviceType` LoadBalancer or NodePort in the environment). */
export class NoExposure extends ExposureStrategy {
  readonly kind = 'none';

  clientPort(): string {
    return String(REGISTRY_PORT);
  }

  bind(_scope: Construct, { variables }: ExposureBindOptions): ExposureBinding {
    // Clients connect to the Service (LoadBalancer, NodePort) themselves: the network policy must admit their
    // networks, or every CNI that enforces policy drops them.
    return { clientCidrs: variables.list('allowed_client_cidrs'), addRoute: this.refuseRoutes() };
  }
}
