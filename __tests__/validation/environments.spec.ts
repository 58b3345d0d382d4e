import { ENVIRONMENTS, validateEnvironment, type EnvironmentSettings } from '../../lib/environments';
import { buildStack, environment } from '../../harness/synth';
import { Storage } from '../../lib/storage';
import { Exposure } from '../../lib/exposure';

const dev = environment('dev');
const cloud = { organization: 'example-org', workspace: 'registry-dev' };

describe('environment settings', () => {
  test.each(ENVIRONMENTS.map((e) => [e.name, e] as const))('the %s environment is valid', (_, env) => {
    expect(() => validateEnvironment(env)).not.toThrow();
  });

  test.each<[string, Partial<EnvironmentSettings>, RegExp]>([
    ['the name has capital letters', { name: 'Prod' }, /^environment name: "Prod" is not allowed; expected a DNS-1123 label/],
    ['the claim access mode is unknown', { storage: Storage.storageClass({ accessMode: 'ReadWriteOncePod' as any }) },
      /^environment dev: storage.accessMode: "ReadWriteOncePod" is not allowed; expected one of "ReadWriteOnce", "ReadWriteMany"/],
    ['the storage is a string, not a strategy', { storage: 'host-path' as any },
      /^environment dev: storage: "host-path" is not allowed; expected a strategy made by Storage.hostPath\(\), Storage.storageClass\(\), Storage.existingClaim\(\) or Storage.s3\(\)/],
    ['chownDataDirectory is not a boolean', { storage: Storage.hostPath({ chownDataDirectory: 'yes' as any }) },
      /^environment dev: storage.chownDataDirectory: "yes" is not allowed; expected true or false/],
    ['the TLS mode is unknown', { tlsMode: 'acme' as any }, /^environment dev: tlsMode: "acme" is not allowed/],
    ['the exposure is a string, not a strategy', { exposure: 'install' as any },
      /^environment dev: exposure: "install" is not allowed; expected a strategy made by Exposure.ingressNginx.install\(\)/],
    ['a variable default names no variable', { variables: { external_prot: 5000 } as any },
      /^environment dev: variables.external_prot: is not allowed; expected the name of a variable in lib\/variables\/catalog.ts/],
    ['a secret is given a default in code', { variables: { kube_token: 'abc' } as any },
      /^environment dev: variables.kube_token: is not allowed; expected it set per run/],
    ['nodeTrustSeLinuxType without nodeTrust', { nodeTrust: false, nodeTrustSeLinuxType: 'spc_t' },
      /^environment dev: nodeTrustSeLinuxType: is not allowed without nodeTrust; expected nodeTrust: true\./],
    ['the service type is unknown', { serviceType: 'ExternalName' as any }, /^environment dev: serviceType: "ExternalName" is not allowed/],
    ['an https Gateway route names no data plane', { exposure: Exposure.gateway({ mode: 'attach', route: 'https' }) },
      /^environment dev: exposure.dataPlane: undefined is not allowed; expected one of "envoy-gateway", "nginx-gateway-fabric" \(the data plane whose upload limits the stack lifts\)/],
    ['an https Gateway route names an unsupported data plane', { exposure: Exposure.gateway({ mode: 'attach', route: 'https', dataPlane: 'traefik' as any }) },
      /^environment dev: exposure.dataPlane: "traefik" is not allowed; expected one of "envoy-gateway", "nginx-gateway-fabric"/],
    ['the Gateway route is unknown', { exposure: Exposure.gateway({ mode: 'attach', route: 'http' as any }) },
      /^environment dev: exposure.route: "http" is not allowed; expected one of "tls-passthrough", "https"/],
    ['a passthrough Gateway names a data plane', { exposure: Exposure.gateway({ mode: 'attach', dataPlane: 'envoy-gateway' }) },
      /^environment dev: exposure.dataPlane: "envoy-gateway" is not allowed; expected none with route "tls-passthrough"/],
    ['a created HTTPS listener without cert-manager', { exposure: Exposure.gateway({ mode: 'create', route: 'https', dataPlane: 'envoy-gateway' }) },
      /^environment dev: tlsMode: "generated" is not allowed with exposure gateway create https; expected "cert-manager"/],
    ['node trust behind an HTTPS front door', { nodeTrust: true, exposure: Exposure.ingressNginx.http() },
      /^environment dev: nodeTrust: true is not allowed with exposure ingress-nginx http; expected nodeTrust off/],
    ['preventDestroy is not a boolean', { preventDestroy: 'yes' as any }, /^environment dev: preventDestroy: "yes" is not allowed; expected true or false/],
    ['the cloud organization is empty', { cloud: { ...cloud, organization: '' } }, /^environment dev: cloud.organization: "" is not allowed; expected a Terraform Cloud organization name/],
    ['the cloud workspace has a space', { cloud: { ...cloud, workspace: 'registry dev' } }, /^environment dev: cloud.workspace: "registry dev" is not allowed/],
    ['the cloud hostname has a scheme', { cloud: { ...cloud, hostname: 'https://tfe.example.com' } }, /^environment dev: cloud.hostname: "https:\/\/tfe.example.com" is not allowed/],
  ])('fails when %s', (_, change, message) => {
    // The stack validates its environment before declaring anything.
    expect(() => buildStack({ ...dev, ...change })).toThrow(message);
  });

  test('accepts shared storage-class storage and a Terraform Cloud workspace', () => {
    expect(() => buildStack({ ...environment('shared'), cloud: { ...cloud, hostname: 'tfe.example.com' } })).not.toThrow();
  });
});
