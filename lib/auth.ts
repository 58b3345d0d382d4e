import { Construct } from 'constructs';
import { Fn, TerraformIterator } from 'cdktf';
import { Password } from '@cdktf/provider-random/lib/password';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { MachineHash } from './auth/machine-hash';
import { grantsExpression } from './auth/grants';
import { variableRef } from './hcl';
import type { StackVariables } from './variables/stack-variables';
import { componentLabels } from './labels';

export interface RegistryAuthProps {
  readonly namespace: string;
  /** Name of the secret holding the `htpasswd` file. */
  readonly htpasswdSecretName: string;
  /** Name of the secret holding the registry's `http.secret`. */
  readonly httpSecretName: string;
  /** Users that get a generated password (may be a Terraform list variable). */
  readonly users: string[];
  /** Existing `user:$2y$...` bcrypt lines kept as they are (may be a sensitive Terraform variable). */
  readonly htpasswdEntries: string[];
  /**
   * More `user:<bcrypt>` lines produced by other constructs (e.g. the pull-secret user's).
   * @default - none
   */
  readonly extraHtpasswdLines?: string[];
  /**
   * Length of generated passwords (letters and digits only, so they survive shells and URLs).
   * @default 32
   */
  readonly passwordLength?: number;
}

/**
 * htpasswd users and the shared `http.secret`.
 *
 * Generated users: one `random_password` each; the htpasswd line holds a cost-4 bcrypt of it (MachineHash: stable
 * in state, replaced with the password), cheap on every request. Provided lines keep their own cost.
 */
export class RegistryAuth extends Construct {
  public readonly htpasswdSecret: SecretV1;
  public readonly httpSecret: SecretV1;
  /** Key of the htpasswd file in `htpasswdSecret`. */
  public readonly htpasswdKey = 'htpasswd';
  /** Key of the http secret in `httpSecret`. */
  public readonly httpSecretKey = 'http-secret';
  /** Map of user name to generated password (sensitive). */
  public readonly passwords: any;
  /** The generated users' passwords, one resource per user (for_each over the user list). */
  public readonly userPasswords: Password;
  /** The http secret's value (sensitive): also the salt of the hash that rolls the pods when credentials change. */
  public readonly httpSecretValue: string;

  constructor(scope: Construct, id: string, props: RegistryAuthProps) {
    super(scope, id);
    const length = props.passwordLength ?? 32;
    const users = TerraformIterator.fromList(props.users);
    this.userPasswords = new Password(this, 'user-passwords', {
      forEach: users,
      length,
      special: false,
    });
    const generated = TerraformIterator.fromResources(this.userPasswords);
    const lines = new MachineHash(this, 'user-hashes', { password: this.userPasswords, perKey: true }).htpasswdLines();
    this.passwords = generated.forExpressionForMap('key', 'val.result');
    const htpasswd = Fn.join('', [Fn.join('\n', Fn.concat([lines, props.extraHtpasswdLines ?? [], props.htpasswdEntries])), '\n']);

    this.htpasswdSecret = new SecretV1(this, 'htpasswd', {
      metadata: { name: props.htpasswdSecretName, namespace: props.namespace, labels: componentLabels('auth') },
      data: { [this.htpasswdKey]: htpasswd },
    });

    // Identical on every replica, or uploads that cross pods fail with "blob upload invalid".
    const shared = new Password(this, 'http-secret-value', { length: 64, special: false });
    this.httpSecretValue = shared.result;
    this.httpSecret = new SecretV1(this, 'http-secret', {
      metadata: { name: props.httpSecretName, namespace: props.namespace, labels: componentLabels('auth') },
      data: { [this.httpSecretKey]: shared.result },
    });
  }
}

/** The grants file (lib/auth/grants.ts) over the role variables, which it declares. */
export function roleGrants(vars: StackVariables): string {
  const ref = (name: Parameters<StackVariables['list']>[0]) => {
    vars.list(name);
    return variableRef(name);
  };
  vars.string('app_name');
  return grantsExpression({
    roles: ref('registry_roles'),
    anonymousPull: ref('anonymous_pull_repositories'),
    pullUser: '"${var.app_name}-pull"',
  });
}
