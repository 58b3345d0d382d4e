/**
 * What each stand-in does beyond the schema-driven plan: which paths force replacement, what changes on update, how
 * computed values are filled on apply, import and data source reads.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { CtyType, ProviderName, SchemaBlock } from './schema-source';
import { DynamicValue, UNKNOWN } from './cty';
import type { Filler, Path } from './plan';
import { execFileLight } from '../programs/spawner';

const run = execFileLight;
type Obj = Record<string, any>;

export interface Behaviour {
  /** SDKv2 providers: terraform tolerates their legacy inconsistencies (kubernetes' resource_version). */
  readonly legacyTypeSystem: boolean;
  /** Paths (list block elements as indexes) whose change forces replacement. */
  forceNew(type: string, block: SchemaBlock): Path[];
  /** Paths that become unknown when an existing object changes. */
  unknownOnUpdate(type: string): Path[];
  /** Computed values for an apply (`prior` null on create); unknowns left over are filled with empty values. */
  apply(type: string, planned: Obj, prior: Obj | null): Promise<{ values: Obj; filler?: Filler }>;
  importState?(type: string, id: string): Obj;
  dataFiller?(type: string, config: Obj): Filler;
}

/** Every input of a resource: its replacement paths when all of them force replacement. */
function allInputs(block: SchemaBlock): Path[] {
  return [
    ...Object.entries(block.attributes).filter(([, a]) => a.required || a.optional).map(([n]) => [n]),
    ...Object.keys(block.block_types).map((n) => [n]),
  ];
}

/**
 * Spec fields the real provider 2.38 replaces the object for (ForceNew in its persistent volume (claim) schemas):
 * a claim cannot change class, volume or access modes in place; a volume cannot change its source or node affinity.
 */
const KUBERNETES_FORCE_NEW_SPEC: Record<string, string[]> = {
  kubernetes_persistent_volume_claim_v1: ['access_modes', 'selector', 'volume_name', 'storage_class_name', 'volume_mode'],
  kubernetes_persistent_volume_v1: ['persistent_volume_source', 'node_affinity', 'volume_mode'],
};

const kubernetes: Behaviour = {
  legacyTypeSystem: true,
  forceNew: (type, block) => [
    ...(block.block_types.metadata
      ? ['name', 'namespace'].filter((n) => n in block.block_types.metadata.block.attributes).map((n) => ['metadata', 0, n])
      : []),
    ...(KUBERNETES_FORCE_NEW_SPEC[type] ?? []).map((n) => ['spec', 0, n]),
  ],
  // The real provider does not mark metadata.0.resource_version unknown when an object changes (issues #1087, #1315):
  // apply changes it anyway, which terraform tolerates from an SDKv2 provider.
  unknownOnUpdate: () => [],
  async apply(_type, planned, prior) {
    const metadata = planned.metadata?.[0];
    const values: Obj = {};
    if (metadata) {
      const namespaced = 'namespace' in metadata;
      const namespace = metadata.namespace === UNKNOWN || metadata.namespace === null ? 'default' : metadata.namespace;
      const name = metadata.name === UNKNOWN || metadata.name === null ? `${metadata.generate_name ?? 'object-'}${randomBytes(3).toString('hex')}` : metadata.name;
      const before = prior?.metadata?.[0];
      values.id = namespaced ? `${namespace}/${name}` : name;
      values.metadata = [{
        ...metadata,
        ...(namespaced ? { namespace } : {}),
        name,
        uid: before?.uid ?? randomUUID(),
        resource_version: String(Number(before?.resource_version ?? 0) + 1 + randomInt(1000)),
        generation: Number(before?.generation ?? 0) + 1,
      }];
    }
    return { values };
  },
  dataFiller: (type) => (_path, t) => {
    // kubernetes_resources / kubernetes_resource: no objects on an empty cluster.
    if (t === 'dynamic' && type === 'kubernetes_resources') return new DynamicValue(['tuple', []] as unknown as CtyType, []);
    return undefined;
  },
};

/** helm_release defaults (helm 3.1.1's documented defaults for optional+computed arguments). */
const HELM_DEFAULTS: Obj = {
  atomic: false, cleanup_on_fail: false, create_namespace: false, dependency_update: false, description: null,
  disable_crd_hooks: false, disable_openapi_validation: false, disable_webhooks: false, force_update: false, lint: false,
  max_history: 0, namespace: 'default', pass_credentials: false, recreate_pods: false, render_subchart_notes: true,
  replace: false, reset_values: false, reuse_values: false, skip_crds: false, status: 'deployed', take_ownership: false,
  timeout: 300, upgrade_install: false, verify: false, wait: true, wait_for_jobs: false, keyring: '',
};

function helmMetadata(release: Obj, prior: Obj | null): Obj {
  const now = Math.floor(Date.now() / 1000);
  return {
    name: release.name, namespace: release.namespace, chart: release.chart, version: release.version ?? '1.0.0',
    app_version: release.version ?? '1.0.0', revision: Number(prior?.metadata?.revision ?? 0) + 1,
    first_deployed: prior?.metadata?.first_deployed ?? now, last_deployed: now, notes: '',
    values: JSON.stringify(Object.fromEntries((release.set ?? []).map((s: Obj) => [s.name, s.value]))),
  };
}

const helm: Behaviour = {
  legacyTypeSystem: false,
  forceNew: () => [['name'], ['namespace']],
  unknownOnUpdate: () => [['metadata']],
  async apply(_type, planned, prior) {
    const values: Obj = {};
    for (const [k, v] of Object.entries(HELM_DEFAULTS)) if (planned[k] === UNKNOWN) values[k] = v;
    const release = { ...planned, ...values };
    values.id = release.name;
    values.version = planned.version === UNKNOWN ? '1.0.0' : planned.version;
    values.metadata = helmMetadata({ ...release, version: values.version }, prior);
    return { values };
  },
  importState(_type, id) {
    const [namespace, name] = id.includes('/') ? id.split('/') : ['default', id];
    const state: Obj = { ...HELM_DEFAULTS, id: name, name, namespace, chart: name, version: '1.0.0', values: [], set: null };
    state.metadata = helmMetadata(state, null);
    return state;
  },
};

const tls: Behaviour = {
  legacyTypeSystem: false,
  forceNew: (type, block) => (type === 'tls_private_key' ? [['algorithm'], ['ecdsa_curve'], ['rsa_bits']] : allInputs(block)),
  unknownOnUpdate: () => [],
  async apply(type, plannedWithUnknowns) {
    // Inputs that are optional and computed arrive unknown when not set: read them as unset.
    const planned = Object.fromEntries(Object.entries(plannedWithUnknowns).map(([k, v]) => [k, v === UNKNOWN ? null : v]));
    // Lazy: openssl and key generation only when a tls resource is applied.
    const t = await import('./tls');
    if (type === 'tls_private_key') return { values: await t.privateKey(planned) };
    if (type === 'tls_self_signed_cert') return { values: await t.selfSignedCert(planned) };
    if (type === 'tls_cert_request') return { values: await t.certRequest(planned) };
    if (type === 'tls_locally_signed_cert') return { values: await t.locallySignedCert(planned) };
    return { values: {} };
  },
};

const CHARSETS = { lower: 'abcdefghijklmnopqrstuvwxyz', upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', numeric: '0123456789', special: '!@#$%&*()-_=+[]{}<>:?' };

/** A random string honouring random_password / random_string's length, character classes and minimums. */
export function randomString(p: Obj): string {
  const on = (k: string) => p[k] !== false;
  const special = p.override_special ?? CHARSETS.special;
  const classes: Array<[string, number]> = [
    [on('lower') ? CHARSETS.lower : '', p.min_lower ?? 0], [on('upper') ? CHARSETS.upper : '', p.min_upper ?? 0],
    [on('numeric') && p.number !== false ? CHARSETS.numeric : '', p.min_numeric ?? 0], [on('special') ? special : '', p.min_special ?? 0],
  ];
  const all = classes.map(([c]) => c).join('');
  const chars: string[] = [];
  for (const [set, min] of classes) for (let i = 0; i < min && set; i++) chars.push(set[randomInt(set.length)]);
  while (chars.length < p.length) chars.push(all[randomInt(all.length)]);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}

const PASSWORD_DEFAULTS: Obj = {
  lower: true, upper: true, numeric: true, number: true, special: true, min_lower: 0, min_upper: 0, min_numeric: 0, min_special: 0,
};

const random: Behaviour = {
  legacyTypeSystem: false,
  forceNew: (_type, block) => allInputs(block),
  unknownOnUpdate: () => [],
  async apply(type, planned) {
    const p: Obj = { ...planned };
    for (const [k, v] of Object.entries(PASSWORD_DEFAULTS)) if (p[k] === UNKNOWN) p[k] = v;
    if (type === 'random_password' || type === 'random_string') {
      const result = randomString(p);
      const values: Obj = { ...Object.fromEntries(Object.keys(PASSWORD_DEFAULTS).filter((k) => k in planned).map((k) => [k, p[k]])), result };
      values.id = type === 'random_password' ? 'none' : result;
      if (type === 'random_password') {
        const { stdout } = await run('htpasswd', ['-nbBC', '10', 'u', result]);
        values.bcrypt_hash = stdout.trim().slice(2).replace(/^\$2y\$/, '$2a$');
      }
      return { values };
    }
    if (type === 'random_id') {
      const bytes = randomBytes(planned.byte_length);
      const prefix = planned.prefix ?? '';
      return { values: { id: bytes.toString('base64url'), b64_url: prefix + bytes.toString('base64url'), b64_std: prefix + bytes.toString('base64'), hex: prefix + bytes.toString('hex'), dec: prefix + BigInt(`0x${bytes.toString('hex')}`).toString() } };
    }
    if (type === 'random_uuid') {
      const uuid = randomUUID();
      return { values: { id: uuid, result: uuid } };
    }
    if (type === 'random_integer') {
      const result = randomInt(planned.min, planned.max + 1);
      return { values: { id: String(result), result } };
    }
    if (type === 'random_bytes') {
      const bytes = randomBytes(planned.length);
      return { values: { base64: bytes.toString('base64'), hex: bytes.toString('hex'), id: 'none' } };
    }
    if (type === 'random_pet') {
      const words = ['able', 'brave', 'calm', 'eager', 'fair', 'keen', 'lucky', 'mild', 'proud', 'swift'];
      const animals = ['ant', 'bee', 'cat', 'dog', 'eel', 'fox', 'gnu', 'owl', 'ram', 'yak'];
      const length = planned.length === UNKNOWN || planned.length === null ? 2 : planned.length;
      const parts = [...Array.from({ length: length - 1 }, () => words[randomInt(words.length)]), animals[randomInt(animals.length)]];
      const separator = planned.separator === UNKNOWN || planned.separator === null ? '-' : planned.separator;
      return { values: { id: [planned.prefix, ...parts].filter((x) => x && x !== UNKNOWN).join(separator), length, separator } };
    }
    if (type === 'random_shuffle') {
      const input = [...(planned.input ?? [])];
      for (let i = input.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [input[i], input[j]] = [input[j], input[i]];
      }
      return { values: { id: '-', result: input.slice(0, planned.result_count ?? input.length) } };
    }
    return { values: {} };
  },
};

export const BEHAVIOURS: Record<ProviderName, Behaviour> = { kubernetes, helm, tls, random };
