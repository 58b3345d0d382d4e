import { TerraformOutput, type TerraformStack } from 'cdktf';
import { endpoint as endpointExpression, loginCommandsByUser } from './hcl';

export interface RegistryOutputsProps {
  /** The stack's name, as `cdktf output <stack>` takes it. */
  readonly stackName: string;
  /** The port clients connect to. */
  readonly clientPort: string;
  /** The CA certificate PEM (public). */
  readonly caPem: string;
  /**
   * An HCL condition: whether there is a CA at all (a public cert-manager issuer has none clients must be given).
   * @default - there always is: the login commands pass it
   */
  readonly caGiven?: string;
  /** The users with generated passwords. */
  readonly users: string[];
  /** Generated passwords by user (sensitive). */
  readonly passwords: unknown;
  /**
   * When the served certificate expires (RFC 3339).
   * @default - unknown to Terraform (cert-manager renews it): `certificateStatusCommand` instead
   */
  readonly certificateExpiresAt?: string;
  /**
   * A command showing the cert-manager Certificate's Ready condition, notAfter and renewal time.
   * @default - no `certificate_status_command` output
   */
  readonly certificateStatusCommand?: string;
  /** What the operator must still do by hand, if anything. */
  readonly manualSteps?: string;
  /**
   * A command showing whether the exposure took the registry's route (Gateway API route status).
   * @default - no `route_status_command` output
   */
  readonly statusCommand?: string;
  /**
   * What holds the images, when it is not a volume of the stack's (the bucket of object storage; no secrets).
   * @default - no storage output
   */
  readonly storage?: Record<string, unknown>;
}

/**
 * The stack's outputs: the endpoint, the CA, users and passwords, and ready-to-run commands. A feature adds its own
 * with `add()` (the pull-through cache's `mirror_endpoint`); every output is stack-level, named as it is written.
 */
export class RegistryOutputs {
  constructor(private readonly stack: TerraformStack, props: RegistryOutputsProps) {
    writeRegistryOutputs(this, props);
  }

  /**
   * One more output of the stack, its Terraform name `name`.
   * @param sensitive hide the value in plans and `cdktf output` (default: not marked)
   */
  add(name: string, value: unknown, description: string, sensitive?: boolean): TerraformOutput {
    const output = new TerraformOutput(this.stack, name, { value, description, sensitive });
    output.overrideLogicalId(name);
    return output;
  }
}

function writeRegistryOutputs(outputs: RegistryOutputs, props: RegistryOutputsProps): void {
  const output = (name: string, value: unknown, description: string, sensitive = false) => outputs.add(name, value, description, sensitive);
  const endpoint = endpointExpression(props.clientPort);
  const stackName = props.stackName;
  output('registry_endpoint', endpoint, 'host:port clients use (docker/podman/skopeo/registry-check).');
  output('ca_certificate_pem', props.caPem, 'CA certificate that clients and nodes must trust.');
  output('registry_users', props.users, 'Users with generated passwords.');
  output('registry_passwords', props.passwords, 'Generated passwords by user.', true);
  // outputs.json holds every password: created afresh by the owner only (umask 077 in a subshell; an existing file
  // would keep its old mode, hence rm -f). The CA files that follow are public and keep the usual mode.
  output('save_ca', [
    `(umask 077 && rm -f outputs.json && npx cdktf output ${stackName} --outputs-file outputs.json --outputs-file-include-sensitive-outputs)`,
    `jq -r --arg s ${stackName} '.[$s].ca_certificate_pem' outputs.json > registry-ca.crt`,
    'mkdir -p registry-certs && cp registry-ca.crt registry-certs/ca.crt',
  ].join(' && '), 'Run first: saves outputs.json (mode 0600, holds passwords: delete it afterwards), registry-ca.crt and registry-certs/ca.crt.');
  output('login_commands', loginCommandsByUser(stackName, endpoint, props.caGiven),
    'Per user: docker, podman and skopeo login (password via stdin) and registry-check. podman, skopeo and registry_check run after ' +
    'save_ca; docker needs trust_ca.docker (or a system-wide trust_ca) first: its daemon reads the CA from /etc/docker/certs.d only.');
  output('curl_catalog', `curl --cacert registry-ca.crt -u <user> https://${endpoint}/v2/_catalog`,
    'List the repositories (curl asks for the password).');
  if (props.certificateExpiresAt !== undefined) {
    output('certificate_expires_at', props.certificateExpiresAt,
      'When the served certificate expires (RFC 3339). A generated one is renewed only by an apply inside cert_early_renewal_hours: schedule one.');
  }
  if (props.certificateStatusCommand !== undefined) {
    output('certificate_status_command', props.certificateStatusCommand,
      "kubectl command showing whether cert-manager issued the registry's certificate (Ready), its notAfter and its renewal time.");
  }
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
  if (props.statusCommand) {
    output('route_status_command', props.statusCommand, "kubectl command showing whether the Gateway accepted the registry's route (and, when the stack created the Gateway, its address and Programmed condition).");
  }
}
