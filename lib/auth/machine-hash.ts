import { Construct } from 'constructs';
import { DataResource, Fn, TerraformIterator, Token } from 'cdktf';
import type { Password } from '@cdktf/provider-random/lib/password';

/**
 * bcrypt cost of generated credentials. They are 32 random letters and digits (~190 bits): no work factor makes a
 * guess any harder, while every request pays it (distribution and nginx compare bcrypt on each one, with no cache).
 * Cost 4 is bcrypt's minimum: 16 rounds instead of the provider's 1,024 (cost 10). Human passwords and provided
 * htpasswd lines keep their own cost.
 */
export const MACHINE_BCRYPT_COST = 4;

export interface MachineHashProps {
  /** The generated password(s): one resource, or one with for_each (then one hash per key). */
  readonly password: Password;
  /**
   * Whether `password` has for_each over user names.
   * @default false
   */
  readonly perKey?: boolean;
}

/**
 * A cost-4 bcrypt hash of a generated password, stable in state. Terraform's `bcrypt()` re-salts on every plan, so
 * the hash is kept in a `terraform_data` that ignores later changes to its input and is replaced only with the
 * password (`replace_triggered_by`): a rotated password gets a new hash, and the htpasswd Secret and the pod's
 * content hash change, in the same plan.
 */
export class MachineHash extends Construct {
  public readonly resource: DataResource;

  constructor(scope: Construct, id: string, props: MachineHashProps) {
    super(scope, id);
    const password = props.password;
    const iterator = props.perKey ? TerraformIterator.fromResources(password) : undefined;
    const result = iterator ? iterator.getString('result') : password.result;
    this.resource = new DataResource(this, 'hash', {
      ...(iterator ? { forEach: iterator } : {}),
      input: { hash: Fn.bcrypt(result, MACHINE_BCRYPT_COST) },
      lifecycle: {
        ignoreChanges: ['input'],
        // a bare reference, as Terraform reads replace_triggered_by (cdktf would wrap a resource in "${}")
        replaceTriggeredBy: [`${password.terraformResourceType}.${password.friendlyUniqueId}${iterator ? '[each.key]' : ''}`],
      },
    });
  }

  /** The hash (single password). */
  get hash(): string {
    return Token.asString(Fn.lookup(this.resource.output, 'hash'));
  }

  /** `["<user>:<hash>", ...]` over the per-key hashes. */
  htpasswdLines(): string[] {
    return Token.asList(TerraformIterator.fromResources(this.resource).forExpressionForList('"${key}:${val.output.hash}"'));
  }
}
