/**
 * What an earlier setting of an environment created and the current one does not declare is released from state
 * (`removed` with `destroy = false`, Terraform >= 1.7), never deleted: a controller this stack adopted or
 * installed, the tcp-services key it wrote, the registry's volume and claim (the images). Without this, a change of
 * exposure or storage kind would plan their deletion: `prevent_destroy` lives in the resource block and goes with it.
 * Where nothing is in state at an address, its block does nothing.
 */
import { Lazy, TerraformResource, type TerraformStack } from 'cdktf';
import { makeUniqueId } from 'cdktf/lib/private/unique';

const address = (type: string, ...path: string[]) => `${type}.${makeUniqueId(path)}`;

/** The ingress-nginx release (installed or adopted) and the tcp-services key (configmap-only). */
export const INGRESS_NGINX_RELEASE_ADDRESS = address('helm_release', 'exposure', 'release');
export const INGRESS_NGINX_TCP_KEY_ADDRESS = address('kubernetes_config_map_v1_data', 'exposure', 'tcp-services');
/** The host-path volume and the claim every claim-backed storage kind owns (lib/storage/claim-storage.ts). */
export const STORAGE_VOLUME_ADDRESS = address('kubernetes_persistent_volume_v1', 'storage', 'volume');
export const STORAGE_CLAIM_ADDRESS = address('kubernetes_persistent_volume_claim_v1', 'storage', 'claim');

/** Every address an earlier setting may have left in state that must outlive a change of setting. */
export const KEPT_ADDRESSES = [INGRESS_NGINX_RELEASE_ADDRESS, INGRESS_NGINX_TCP_KEY_ADDRESS, STORAGE_VOLUME_ADDRESS, STORAGE_CLAIM_ADDRESS];

/** Declares `removed` blocks for the kept addresses the stack does not declare (worked out at synthesis). */
export function keepEarlier(stack: TerraformStack): void {
  stack.addOverride('removed', Lazy.anyValue({
    produce: () => {
      const declared = new Set(stack.node.findAll()
        .filter((c): c is TerraformResource => c instanceof TerraformResource)
        .map((r) => `${r.terraformResourceType}.${stack.getLogicalId(r)}`));
      return KEPT_ADDRESSES.filter((a) => !declared.has(a)).map((from) => ({ from, lifecycle: { destroy: false } }));
    },
  }));
}
