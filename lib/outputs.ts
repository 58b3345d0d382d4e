import { TerraformOutput, type TerraformStack } from 'cdktf';
import { endpoint as endpointExpression } from './hcl';

export interface RegistryOutputsProps {
  /** The stack's name, as `cdktf output <stack>` takes it. */
  readonly stackName: string;
  /** The port clients connect to. */
  readonly clientPort: string;
  /** The CA certificate PEM (public). */
  readonly caPem: string;
  /** The users with generated passwords. */
  readonly users: string[];
  /** Generated passwords by user (sensitive). */
  readonly passwords: unknown;
  /** What the operator must still do by hand, if anything. */
  readonly manualSteps?: string;
  /**
   * What holds the images, when it is not a volume of the stack's (the bucket of object storage; no secrets).
   * @default - no storage output
   */
  readonly storage?: Record<string, unknown>;
}

/** The stack's outputs: the endpoint, the CA, users and passwords, and ready-to-run commands. */
export function addRegistryOutputs(stack: TerraformStack, props: RegistryOutputsProps): void {
  const output = (name: string, value: unknown, description: string, sensitive = false) =>
    new TerraformOutput(stack, name, { value, description, sensitive }).overrideLogicalId(name);
  const endpoint = endpointExpression(props.clientPort);
  const stackName = props.stackName;
  output('registry_endpoint', endpoint, 'host:port clients use (docker/podman/skopeo/registry-check).');
  output('ca_certificate_pem', props.caPem, 'CA certificate that clients and nodes must trust.');
  output('registry_users', props.users, 'Users with generated passwords.');
  output('registry_passwords', props.passwords, 'Generated passwords by user.', true);
  output('login_commands', {
    save_ca: `cdktf output ${stackName} --outputs-file outputs.json --outputs-file-include-sensitive-outputs && jq -r '.["${stackName}"].ca_certificate_pem' outputs.json > registry-ca.crt`,
    docker: `jq -r '.["${stackName}"].registry_passwords.<user>' outputs.json | docker login ${endpoint} --username <user> --password-stdin`,
    podman: `jq -r '.["${stackName}"].registry_passwords.<user>' outputs.json | podman login ${endpoint} --username <user> --password-stdin --cert-dir <dir holding ca.crt>`,
    curl: `curl --cacert registry-ca.crt -u <user> https://${endpoint}/v2/_catalog`,
    registry_check: `jq -r '.["${stackName}"].registry_passwords.<user>' outputs.json | npx registry-check ${endpoint} --user <user> --password-stdin --ca-file registry-ca.crt`,
  }, 'Ready-to-run commands: save the CA, log in, list the catalog, check the registry end to end.');
  output('trust_ca', {
    docker: `sudo mkdir -p /etc/docker/certs.d/${endpoint} && sudo cp registry-ca.crt /etc/docker/certs.d/${endpoint}/ca.crt`,
    podman: `sudo mkdir -p /etc/containers/certs.d/${endpoint} && sudo cp registry-ca.crt /etc/containers/certs.d/${endpoint}/ca.crt`,
    debian: 'sudo cp registry-ca.crt /usr/local/share/ca-certificates/private-registry.crt && sudo update-ca-certificates',
    rhel: 'sudo cp registry-ca.crt /etc/pki/ca-trust/source/anchors/private-registry.crt && sudo update-ca-trust',
    macos: 'sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain registry-ca.crt',
  }, 'How to trust the registry CA on a workstation (no insecure-registry settings needed).');
  if (props.storage) {
    output('object_storage', props.storage, 'Where the images are: bucket, region, endpoint and prefix, redirects, how the registry authenticates (no secrets).');
  }
  if (props.manualSteps) {
    output('manual_steps', props.manualSteps, 'What the operator must still change on a controller not installed by Helm.');
  }
}
