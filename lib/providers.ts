import type { TerraformStack } from 'cdktf';
import { CloudBackend, LocalBackend, NamedCloudWorkspace } from 'cdktf';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { HelmProvider } from '@cdktf/provider-helm/lib/provider';
import { TlsProvider } from '@cdktf/provider-tls/lib/provider';
import { RandomProvider } from '@cdktf/provider-random/lib/provider';
import type { CloudSettings } from './environments';
import { nullIfEmpty, unlessKubeHost } from './hcl';
import type { StackVariables } from './variables/stack-variables';

/**
 * Terraform Cloud with the environment's workspace, or local state at the project root: outside cdktf.out, so
 * deleting build output never loses track of a registry's volume.
 */
export function configureBackend(stack: TerraformStack, stackName: string, cloud?: CloudSettings, localStatePath?: string): void {
  if (cloud) {
    new CloudBackend(stack, {
      organization: cloud.organization,
      hostname: cloud.hostname,
      workspaces: new NamedCloudWorkspace(cloud.workspace),
    });
  } else {
    new LocalBackend(stack, { path: localStatePath ?? `../../../terraform.${stackName}.tfstate` });
  }
}

/**
 * The Terraform the configuration needs: cross-variable validations (a condition that reads another `var.`) came in
 * 1.9, `removed` blocks in 1.7. An older Terraform, such as a Terraform Cloud workspace pinned to 1.5, then stops
 * at init with one line ("Unsupported Terraform Core version") instead of failing on the first such block.
 */
export const REQUIRED_TERRAFORM_VERSION = '>= 1.9';

/**
 * Kubernetes and Helm connect with a kubeconfig (workstation) or with host + token + CA (Terraform Cloud
 * workers, which have no kubeconfig and no local files). A non-empty kube_host wins over the kubeconfig.
 */
export function configureProviders(stack: TerraformStack, variables: StackVariables): void {
  for (const name of ['kubeconfig_path', 'kube_context', 'kube_host', 'kube_token', 'kube_cluster_ca_certificate'] as const) {
    variables.declare(name);
  }
  const connection = {
    configPath: unlessKubeHost('kubeconfig_path'),
    configContext: unlessKubeHost('kube_context'),
    host: nullIfEmpty('kube_host'),
    token: nullIfEmpty('kube_token'),
    clusterCaCertificate: nullIfEmpty('kube_cluster_ca_certificate'),
  };
  stack.addOverride('terraform.required_version', REQUIRED_TERRAFORM_VERSION);
  // The provider versions (exact) come with the pinned @cdktf/provider-* bindings: required_providers names them.
  new KubernetesProvider(stack, 'provider-kubernetes', connection);
  new HelmProvider(stack, 'provider-helm', { kubernetes: connection });
  new TlsProvider(stack, 'provider-tls');
  new RandomProvider(stack, 'provider-random');
}
