import * as rules from '../rules';

export interface SeLinuxOptions {
  readonly level?: string;
  readonly role?: string;
  readonly type?: string;
  readonly user?: string;
}

/** An SELinux user, role or type name such as `container_t`, `system_u`, `object_r`. */
export const seLinuxName = rules.pattern(
  '^[a-z][a-z0-9_]*$',
  "an SELinux name such as container_t (lowercase letters, digits and '_', starting with a letter)",
  255,
);

/** An MLS/MCS level or range such as `s0:c123,c456` or `s0-s0:c0.c1023`. */
export const seLinuxLevel = rules.pattern(
  '^s[0-9]+(-s[0-9]+)?(:c[0-9]+([.,]c[0-9]+)*)?$',
  'an SELinux level such as s0:c123,c456 (a sensitivity s0, optionally a range s0-s0, then categories c0 to c1023)',
  255,
);

/** Throws an Error naming the field and value when an SELinux option is not well formed. */
export function validateSeLinuxOptions(field: string, options: SeLinuxOptions): void {
  const known = ['level', 'role', 'type', 'user'];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new Error(`${field}.${key}: is not allowed; expected one of ${known.join(', ')}.`);
  }
  if (options.level !== undefined) rules.check(`${field}.level`, options.level, [seLinuxLevel]);
  for (const key of ['role', 'type', 'user'] as const) {
    if (options[key] !== undefined) rules.check(`${field}.${key}`, options[key], [seLinuxName]);
  }
}
