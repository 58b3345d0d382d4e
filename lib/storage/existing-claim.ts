import type { Construct } from 'constructs';
import { ClaimStorage } from './claim-storage';
import type { StorageBindOptions, StorageBinding } from './strategy';

/**
 * A claim the operator created beforehand (variable `existing_claim`, in the registry namespace). The stack
 * creates nothing for it and never deletes it.
 */
export class ExistingClaimStorage extends ClaimStorage {
  readonly kind = 'existing-claim';
  protected readonly factory = 'Storage.existingClaim()';

  bind(_scope: Construct, options: StorageBindOptions): StorageBinding {
    return this.claimBinding(options.variables.string('existing_claim'));
  }
}
