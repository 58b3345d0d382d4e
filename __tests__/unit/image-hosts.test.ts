/**
 * Pull-secret keys and the endpoint output as image references write a host: `registry.example.com/app` names no port
 * on 443, and docker and the kubelet match a pull secret's key to it literally (`registry.example.com:443` would
 * never match); and with a public cert-manager issuer, login commands that pass no CA (there is none to pass).
 * Evaluated by the real terraform binary on the synthesized expressions.
 */
import * as path from 'node:path';
import { imagePortSuffix, withImagePort } from '../../lib/hcl';
import { synthesized } from '../../harness/json';
import { tempDir, useCleanup } from '../../harness/programs';
import { evaluateWithTerraform } from '../../harness/terraform';

describe('registry hosts as image references write them', () => {
  const cleanup = useCleanup();

  test('a literal port: none on 443, ":<port>" otherwise', () => {
    expect(imagePortSuffix('443')).toBe('');
    expect(imagePortSuffix('5000')).toBe(':5000');
    expect(withImagePort('443')).toBe('"${val}"');
  });

  test.each([[443, 'registry.dev.example.internal'], [5000, 'registry.dev.example.internal:5000']])(
    'an HTTPS Gateway listener on %d: the endpoint output is %s', async (port, endpoint) => {
      const json = synthesized('https-attach');
      const dir = await tempDir(cleanup, 'image-hosts-');
      const { value } = await evaluateWithTerraform(path.join(dir, 'tf'), json, { value: json.output.registry_endpoint.value }, { gateway_port: port });
      expect(value).toBe(endpoint);
    }, 60_000);

  test.each([['', false], ['-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2FQbGFjZWhvbGRlcg==\n-----END CERTIFICATE-----\n', true]])(
    'cert-manager on 443: the login commands pass the CA only when the issuer has one (%j)', async (ca, withCa) => {
      const json = synthesized('example-https');
      const dir = await tempDir(cleanup, 'image-hosts-');
      const { value } = await evaluateWithTerraform(path.join(dir, 'tf'), json, { value: json.output.login_commands.value }, { cert_manager_ca_pem: ca, registry_users: ['admin'] });
      const { podman, registry_check: check } = value.admin;
      expect(podman).toMatch(/\| podman login registry\.example\.com --username admin --password-stdin/);
      expect(podman.includes('--cert-dir registry-certs')).toBe(withCa);
      expect(check.includes('--ca-file registry-ca.crt')).toBe(withCa);
    }, 60_000);
});
