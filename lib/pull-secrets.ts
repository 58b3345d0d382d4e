import { Construct } from 'constructs';
import { Fn, Op, TerraformIterator, Token } from 'cdktf';
import { Password } from '@cdktf/provider-random/lib/password';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { componentLabels } from './labels';
import { MachineHash } from './auth/machine-hash';

export interface RegistryPullSecretsProps {
  /** Namespaces that get the pull secret (may be a Terraform list variable; may be empty). */
  readonly namespaces: string[];
  /** Name of the `kubernetes.io/dockerconfigjson` secret in each namespace. */
  readonly secretName: string;
  /** The dedicated registry user the secrets log in as (e.g. `<app>-pull`). */
  readonly username: string;
  /** Every "host:port" workloads pull from: each gets an entry in `auths`. */
  readonly registryHosts: string[];
  /**
   * Length of the generated password (letters and digits only).
   * @default 32
   */
  readonly passwordLength?: number;
}

/**
 * Image pull secrets for workloads: one dedicated generated user, and a `kubernetes.io/dockerconfigjson` secret
 * with its credentials for every registry "host:port" in each listed namespace. The user's htpasswd line
 * (`htpasswdLines`) joins the registry's htpasswd only while some namespace is listed, so an unused credential
 * cannot log in.
 */
export class RegistryPullSecrets extends Construct {
  public readonly password: Password;
  /** One secret per namespace (for_each over the namespace list). */
  public readonly secrets: SecretV1;
  /** `["<user>:<bcrypt>"]` while namespaces are listed, `[]` otherwise: add it to the registry's htpasswd. */
  public readonly htpasswdLines: string[];
  /** The `.dockerconfigjson` document (sensitive: it holds the password). */
  public readonly dockerConfigJson: string;
  public readonly dockerConfigKey = '.dockerconfigjson';

  constructor(scope: Construct, id: string, props: RegistryPullSecretsProps) {
    super(scope, id);
    this.password = new Password(this, 'password', { length: props.passwordLength ?? 32, special: false });
    // A cost-4 hash, stable in state, like the other generated users': every layer a node pulls checks it.
    const line = Fn.format('%s:%s', [props.username, new MachineHash(this, 'hash', { password: this.password }).hash]);
    // (">= 1", not "> 0": cdktf renders a literal 0 operand as "undefined")
    this.htpasswdLines = Token.asList(Fn.conditional(Op.gte(Fn.lengthOf(props.namespaces), 1), [line], []));

    // The format docker, podman, containerd and kubelet read: auths -> "<host:port>" -> username, password and
    // auth = base64("user:password").
    const credentials = Fn.tomap({
      username: props.username,
      password: this.password.result,
      auth: Fn.base64encode(Fn.format('%s:%s', [props.username, this.password.result])),
    });
    const auths = TerraformIterator.fromList(props.registryHosts).forExpressionForMap('val', credentials);
    this.dockerConfigJson = Fn.jsonencode({ auths });

    const namespaces = TerraformIterator.fromList(props.namespaces);
    this.secrets = new SecretV1(this, 'secret', {
      forEach: namespaces,
      metadata: {
        name: props.secretName,
        namespace: namespaces.value,
        labels: componentLabels('pull-secret'),
      },
      type: 'kubernetes.io/dockerconfigjson',
      data: { [this.dockerConfigKey]: this.dockerConfigJson },
    });
  }
}
