import { ENVIRONMENTS, validateEnvironment, type EnvironmentSettings } from '../../lib/environments';
import { buildStack, environment } from './fixtures';

const dev = environment('dev');
const cloud = { organization: 'example-org', workspace: 'registry-dev' };

describe('environment settings', () => {
  test.each(ENVIRONMENTS.map((e) => [e.name, e] as const))('the %s environment is valid', (_, env) => {
    expect(() => validateEnvironment(env)).not.toThrow();
  });

  test.each<[string, Partial<EnvironmentSettings>, RegExp]>([
    ['the name has capital letters', { name: 'Prod' }, /^environment name: "Prod" is not allowed; expected a DNS-1123 label/],
    ['host-path storage is ReadWriteMany', { storageAccessMode: 'ReadWriteMany' },
      /^environment dev: storageAccessMode: "ReadWriteMany" is not allowed; expected .*"ReadWriteOnce": storageKind "host-path" is one node's disk/],
    ['the storage kind is unknown', { storageKind: 'nfs' as any }, /^environment dev: storageKind: "nfs" is not allowed; expected one of "host-path", "storage-class", "existing-claim"/],
    ['the TLS mode is unknown', { tlsMode: 'acme' as any }, /^environment dev: tlsMode: "acme" is not allowed/],
    ['the exposure is unknown', { exposure: 'gateway' as any }, /^environment dev: exposure: "gateway" is not allowed/],
    ['the service type is unknown', { serviceType: 'ExternalName' as any }, /^environment dev: serviceType: "ExternalName" is not allowed/],
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
