import { REGISTRY_PORT } from '../registry/config';
import { type ExposureBinding, ExposureStrategy } from './strategy';

/** No exposure: the Service alone (pick `serviceType` LoadBalancer or NodePort in the environment). */
export class NoExposure extends ExposureStrategy {
  readonly kind = 'none';

  clientPort(): string {
    return String(REGISTRY_PORT);
  }

  bind(): ExposureBinding {
    return {};
  }
}
