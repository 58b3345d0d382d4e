import type { EnvironmentSettings } from '../../lib/environments';
import { Exposure } from '../../lib/exposure';
import { IngressNginxExposure } from '../../lib/exposure/ingress-nginx';
import { Storage } from '../../lib/storage';
import { HostPathStorage } from '../../lib/storage/host-path';
import { StorageClassStorage } from '../../lib/storage/storage-class';
import { environment, synth, TEST_ENVIRONMENTS } from '../../harness/synth';

/** What an environment's settings say must exist, by resource type. */
function expectedTypes(env: EnvironmentSettings): string[] {
  const types = ['kubernetes_namespace_v1', 'random_password', 'kubernetes_secret_v1', 'kubernetes_config_map_v1',
    'kubernetes_deployment_v1', 'kubernetes_service_v1', 'kubernetes_network_policy_v1'];
  if (env.tlsMode === 'generated') types.push('tls_private_key', 'tls_self_signed_cert', 'tls_locally_signed_cert');
  if (env.storage instanceof HostPathStorage) types.push('kubernetes_persistent_volume_v1', 'kubernetes_persistent_volume_claim_v1');
  if (env.storage instanceof StorageClassStorage) types.push('kubernetes_persistent_volume_claim_v1');
  if (env.exposure instanceof IngressNginxExposure) types.push(env.exposure.mode === 'configmap-only' ? 'kubernetes_config_map_v1_data' : 'helm_release');
  if (env.nodeTrust) types.push('kubernetes_daemon_set_v1');
  return types;
}

/** A third environment added the docs/configuration.md way: provided TLS, a storage class, configmap-only, Terraform Cloud. */
const third: EnvironmentSettings = {
  name: 'staging',
  tlsMode: 'provided',
  storage: Storage.storageClass(),
  exposure: Exposure.ingressNginx.configmapOnly(),
  serviceType: 'ClusterIP',
  cloud: { organization: 'acme', workspace: 'registry-staging' },
  variables: { registry_domains: ['registry.staging.acme.example'] },
};

describe('RegistryStack', () => {
  test.each([...TEST_ENVIRONMENTS, third].map((e) => [e.name, e] as const))('environment %s synthesizes every part its settings declare', (name, env) => {
    const { json } = synth(env);
    const missing = expectedTypes(env).filter((type) => Object.keys(json.resource[type] ?? {}).length === 0);
    // Named, so a failure says which environment lacks what.
    expect({ environment: name, missing }).toEqual({ environment: name, missing: [] });
  });

  test('the third environment uses Terraform Cloud and reads its certificate\'s expiry from the provided PEM', () => {
    const { json } = synth(third);
    expect(json.terraform.cloud).toMatchObject({ organization: 'acme', workspaces: { name: 'registry-staging' } });
    expect(json.data?.tls_certificate).toBeDefined();
    expect(json.resource.helm_release).toBeUndefined();
  });

  const { json } = synth(environment('dev'));

  test('outputs: endpoint, CA, users, sensitive passwords, ready-to-run commands, CA trust steps, certificate expiry', () => {
    expect(Object.keys(json.output).sort()).toEqual([
      'ca_certificate_pem', 'certificate_expires_at', 'curl_catalog', 'login_commands', 'registry_endpoint', 'registry_passwords',
      'registry_users', 'save_ca', 'trust_ca',
    ]);
    expect(json.output.registry_passwords.sensitive).toBe(true);
    for (const name of Object.keys(json.output).filter((n) => n !== 'registry_passwords')) {
      expect(json.output[name].sensitive).toBe(false);
    }
    expect(json.output.save_ca.value).toMatch(/^\(umask 077 && rm -f outputs.json && npx cdktf output registry-dev /);
    // docker's daemon trusts a registry CA only from /etc/docker/certs.d: its login is not ready after save_ca alone.
    expect(json.output.login_commands.description).toMatch(/docker needs trust_ca\.docker .*first/);
    // one entry per user, no placeholders left for the operator to fill in
    expect(json.output.login_commands.value).toMatch(/^\$\{\{for u in var.registry_users : u => \{/);
    expect(json.output.login_commands.value).not.toMatch(/<user>|<dir/);
    expect(json.output.login_commands.value).toContain('--password-stdin --cert-dir registry-certs');
    for (const name of ['save_ca', 'login_commands', 'curl_catalog']) expect(json.output[name].value).not.toMatch(/--insecure|tls-verify=false| -k /);
    expect(json.output.certificate_expires_at.value).toMatch(/^\$\{tls_locally_signed_cert\.tls_leaf_[A-F0-9]{8}\.validity_end_time\}$/);
  });

  test('a provided certificate\'s expiry is read from the PEM itself', () => {
    const provided = synth(environment('shared')).json;
    expect(provided.output.certificate_expires_at.value).toMatch(/^\$\{data\.tls_certificate\.tls_provided-certificate_[A-F0-9]{8}\.certificates\[0\]\.not_after\}$/);
    expect(Object.values<any>(provided.data!.tls_certificate)[0].content).toBe('${var.tls_certificate_pem}');
  });

  test('every operator-tuned value is a described, typed, validated stack-level variable', () => {
    for (const name of [
      'namespace', 'app_name', 'registry_domains', 'registry_ip_addresses', 'external_port', 'registry_image',
      'storage_size', 'host_path', 'node_name', 'registry_users', 'htpasswd_entries', 'ingress_chart_version',
      'kubeconfig_path', 'kube_context', 'kube_host', 'kube_token', 'kube_cluster_ca_certificate',
    ]) {
      const variable = json.variable[name];
      expect(variable).toBeDefined();
      expect(variable.description.length).toBeGreaterThan(10);
      expect(variable.type).toBeDefined();
    }
    expect(json.variable.kube_token.sensitive).toBe(true);
    expect(json.variable.external_port.validation.length).toBeGreaterThanOrEqual(2);
  });

  test('kubernetes and helm connect by kubeconfig or by host, token and CA, never insecure', () => {
    const kubernetes = json.provider.kubernetes[0];
    expect(kubernetes.host).toBe('${var.kube_host == "" ? null : var.kube_host}');
    expect(kubernetes.token).toBe('${var.kube_token == "" ? null : var.kube_token}');
    expect(kubernetes.cluster_ca_certificate).toContain('var.kube_cluster_ca_certificate');
    expect(kubernetes.config_path).toContain('var.kubeconfig_path');
    expect(kubernetes.insecure).toBeUndefined();
    expect(json.provider.helm[0].kubernetes).toEqual(kubernetes);
  });

  test('local state lives outside cdktf.out; a cloud environment gets its own workspace', () => {
    expect(json.terraform.backend.local.path).toBe('../../../terraform.registry-dev.tfstate');
    const cloud = synth(environment('dev', { cloud: { organization: 'acme', workspace: 'registry-dev' } })).json;
    expect(cloud.terraform.cloud).toEqual({ organization: 'acme', workspaces: { name: 'registry-dev' } });
    expect(cloud.terraform.backend).toBeUndefined();
  });

  test('the namespace enforces the restricted Pod Security Standard', () => {
    const ns = Object.values(json.resource.kubernetes_namespace_v1)[0] as any;
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(ns.metadata.name).toBe('${var.namespace}');
  });

  test('fails when an environment default breaks a rule, naming the field and the value', () => {
    expect(() => synth(environment('dev', { variables: { external_port: 443 } }))).toThrow(
      /external_port: 443 is not allowed; expected a port ingress-nginx does not reserve/,
    );
    expect(() => synth(environment('dev', { variables: { storage_size: '10GB' } }))).toThrow(/storage_size: "10GB" is not allowed/);
  });
});
