import { App } from 'cdktf';
import { ENVIRONMENTS, EXAMPLE_ENVIRONMENTS } from './lib/environments';
import { RegistryStack } from './lib/registry-stack';

const app = new App();
for (const environment of [...ENVIRONMENTS, ...EXAMPLE_ENVIRONMENTS]) {
  new RegistryStack(app, `registry-${environment.name}`, { environment });
}
app.synth();
