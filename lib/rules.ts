/**
 * Validation rules, written once and enforced twice: by `check()` on values known at synth time (environment
 * settings, construct props) and as the `validation` blocks of the stack's Terraform variables, so a workstation
 * run and a Terraform Cloud run reject the same inputs with the same words.
 *
 * Pure module: no cdktf import. Regular expressions are kept to the syntax JavaScript and Terraform's RE2 share:
 * no lookaround, no backreferences, no `\s`/`\w` (their meaning differs: JavaScript's `\s` includes Unicode spaces),
 * explicit character classes only, `^...$` anchors (neither engine lets `$` match before a final newline).
 */
import { isIP } from 'node:net';
import { escapeTemplate } from './hcl';

/** The value kinds a rule can look at, matching the Terraform variable types we use. */
export type RuleValue = string | number | string[] | undefined | null;

export interface Rule {
  /** What is allowed, in words: the second half of every error message. */
  readonly allowed: string;
  /** The TypeScript side: true when `value` passes. */
  readonly test: (value: any) => boolean;
  /** The Terraform side: a boolean expression over `ref` (for example `var.registry_port`). */
  readonly condition: (ref: string) => string;
  /**
   * For list rules made by `each()`: the rule every element must pass. Messages then name the first failing
   * element and its index (`registry_domains[1]: "a..b" is not allowed; expected <the element rule>`).
   */
  readonly element?: Rule;
  /**
   * How Terraform's message shows the failing value, when `jsonencode(<ref>)` is not what the operator needs to
   * see (for example the one name a list must not contain).
   * @default - the value, jsonencoded (or "(sensitive value)")
   */
  readonly shown?: (ref: string) => string;
  /**
   * The part of a SENSITIVE failing value that is safe to show, on both sides: `describe` for the TypeScript check,
   * `describeInTerraform` as an HCL template part over `ref` (for example the user of an htpasswd line, never its
   * hash). Without them a sensitive value shows as "(sensitive value)".
   */
  readonly describe?: (value: unknown) => string;
  readonly describeInTerraform?: (ref: string) => string;
}

/** A Terraform string literal (HCL shares JSON's escapes; `${` and `%{` never occur in our patterns). */
const hcl = (s: string): string => {
  if (/[$%]\{/.test(s)) throw new Error(`internal: pattern ${s} would be read as a template by Terraform`);
  return JSON.stringify(s);
};

/** A rule for a string matching `pattern` (anchored) with an optional maximum length. */
export function pattern(source: string, allowed: string, maxLength?: number): Rule {
  const re = new RegExp(source);
  // try(): a null list element must fail the rule, not break the evaluation with "argument must not be null".
  const lengthTf = (x: string) => (maxLength ? ` && try(length(${x}) <= ${maxLength}, false)` : '');
  return {
    allowed,
    test: (v) => typeof v === 'string' && re.test(v) && (maxLength === undefined || v.length <= maxLength),
    condition: (ref) => `can(regex(${hcl(source)}, ${ref}))${lengthTf(ref)}`,
  };
}

/** Applies a scalar string rule to every element of a list. */
export function each(rule: Rule): Rule {
  return {
    allowed: `a list where every element is ${rule.allowed}`,
    test: (v) => Array.isArray(v) && v.every((x) => rule.test(x)),
    condition: (ref) => `alltrue([for x in ${ref} : ${rule.condition('x')}])`,
    element: rule,
  };
}

/** Optional value: null or "" is accepted, anything else must pass `rule`. */
export function optional(rule: Rule): Rule {
  return {
    allowed: `empty, or ${rule.allowed}`,
    test: (v) => v === undefined || v === null || v === '' || rule.test(v),
    condition: (ref) => `${ref} == null ? true : (${ref} == "" ? true : (${rule.condition(ref)}))`,
  };
}

const label = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';

export const dns1123Label = pattern(
  `^${label}$`,
  "a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
  63,
);

export const dns1123Subdomain = pattern(
  `^${label}(\\.${label})*$`,
  "a DNS-1123 subdomain: dot-separated lowercase labels of letters, digits and '-', at most 253 characters",
  253,
);

export const domainName = pattern(
  `^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$`,
  'a lowercase DNS name such as registry.example.com (labels of letters, digits and \'-\', at most 253 characters, no scheme, port or path)',
  253,
);

/**
 * Node's `isIP` and Terraform's `cidrhost` disagree at the edges: Terraform accepts IPv4 octets with leading zeros
 * (010.0.0.1, read as octal by some tools), Node accepts IPv6 zones (fe80::1%eth0). Both are refused on both sides
 * by a shared character-and-octet pattern.
 */
const ipCharacters = '^[0-9A-Fa-f:.]+$';
const ipv4LeadingZero = '(^|\\.)0[0-9]+(\\.|$)|(^|:)0[0-9]+\\.';

export const ipAddress: Rule = {
  allowed: 'an IPv4 or IPv6 address such as 192.0.2.10 (no prefix length, no port, no zone, no leading zeros)',
  test: (v) =>
    typeof v === 'string' && isIP(v) !== 0 && new RegExp(ipCharacters).test(v) && !new RegExp(ipv4LeadingZero).test(v),
  condition: (ref) =>
    `can(regex(${hcl(ipCharacters)}, ${ref})) && !can(regex(${hcl(ipv4LeadingZero)}, ${ref})) && ` +
    `can(cidrhost(strcontains(${ref}, ":") ? "\${${ref}}/128" : "\${${ref}}/32", 0))`,
};

/**
 * A registry name a Gateway API listener or route can carry: Gateway API hostnames are DNS names and never IPs (the
 * TLSRoute CEL rule `!isIP(h)`). `domainName` alone lets `10.0.0.1` through; this refuses every name whose last
 * label is all digits, which covers each IPv4 address and no real DNS name (no top-level domain is numeric).
 */
export const notAnIpAddress: Rule = {
  allowed: 'a DNS name, not an IP address (Gateway API hostnames cannot be IPs)',
  test: (v) => typeof v === 'string' && !/(^|\.)[0-9]+$/.test(v),
  condition: (ref) => `!can(regex(${hcl('(^|\\.)[0-9]+$')}, ${ref}))`,
};

// ---- composing rules: hosts, ports, endpoints -----------------------------------------------------------------

/** Every rule holds (one message: `allowed`). */
export function allOf(parts: readonly Rule[], allowed: string): Rule {
  return {
    allowed,
    test: (v) => parts.every((rule) => rule.test(v)),
    condition: (ref) => parts.map((rule) => `(${rule.condition(ref)})`).join(' && '),
  };
}

/** At least one rule holds (one message: `allowed`). */
export function anyOf(parts: readonly Rule[], allowed: string): Rule {
  return {
    allowed,
    test: (v) => parts.some((rule) => rule.test(v)),
    condition: (ref) => parts.map((rule) => `(${rule.condition(ref)})`).join(' || '),
  };
}

/** The rule does not hold (a name must not look like an IP address, for example). */
export function not(rule: Rule, allowed: string): Rule {
  return { allowed, test: (v) => typeof v === 'string' && !rule.test(v), condition: (ref) => `!(${rule.condition(ref)})` };
}

/** Text that must not occur (`source` unanchored, or anchored as it says). */
export function forbidden(source: string, allowed: string): Rule {
  const re = new RegExp(source);
  return { allowed, test: (v) => typeof v === 'string' && !re.test(v), condition: (ref) => `!can(regex(${hcl(source)}, ${ref}))` };
}

/** A TCP port as text, 1 to 65535 (no leading zeros): the port of host:port and of URLs. */
const PORT = '([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';

/**
 * A host as URLs and host:port write it: a DNS name that does not end in a numeric label, or an IP address (IPv6
 * without brackets here; `hostAndPort` strips them). The existing name and address rules, composed.
 */
export const host = anyOf(
  [allOf([domainName, notAnIpAddress], domainName.allowed), ipAddress],
  'a lowercase DNS name (no empty or dash-edged labels) or an IP address',
);

/**
 * `<scheme>host[:port][path]`, the host judged by `host` (an IPv6 address in brackets) and the port from 1 to
 * 65535. Terraform applies the host rule to the captured host in a one-element `for`, so the rule's expression
 * names it once; `try()` turns a value of the wrong shape into false.
 */
export function hostAndPort(options: { scheme: string; port: 'required' | 'optional'; path?: boolean; maxLength: number; allowed: string }): Rule {
  const shape = `^${options.scheme}(\\[[0-9A-Fa-f:.]+\\]|[^/:\\[\\]]+)(:${PORT})${options.port === 'optional' ? '?' : ''}${options.path ? '(/[!-~]*)?' : ''}$`;
  const re = new RegExp(shape);
  const bare = (h: string) => h.replace(/^\[(.*)\]$/, '$1');
  const bracketsOnlyForIpv6 = (h: string) => h.startsWith('[') === h.includes(':');
  return {
    allowed: options.allowed,
    test: (v) => {
      const match = typeof v === 'string' && v.length <= options.maxLength ? re.exec(v) : null;
      return match !== null && bracketsOnlyForIpv6(match[1]) && host.test(bare(match[1]));
    },
    condition: (ref) =>
      `try(length(${ref}) <= ${options.maxLength} && alltrue([for h in [regex(${hcl(shape)}, ${ref})[0]] : ` +
      `startswith(h, "[") == strcontains(h, ":") && alltrue([for bare_host in [trim(h, "[]")] : ${host.condition('bare_host')}])]), false)`,
  };
}

/** A string of at most `max` characters, with why in words. */
export function maxLength(max: number, why: string): Rule {
  return {
    allowed: `at most ${max} characters (${why})`,
    test: (v) => typeof v === 'string' && v.length <= max,
    condition: (ref) => `try(length(${ref}) <= ${max}, false)`,
  };
}

/** A string that must be set (an optional variable some setting makes required), with what it is in words. */
export function nonEmptyString(allowed: string): Rule {
  return {
    allowed,
    test: (v) => typeof v === 'string' && v !== '',
    condition: (ref) => `${ref} != ""`,
  };
}

/** A list of at most `max` entries, with why in words. */
export function maxItems(max: number, why: string): Rule {
  return {
    allowed: `a list of at most ${max} entries (${why})`,
    test: (v) => Array.isArray(v) && v.length <= max,
    condition: (ref) => `length(${ref}) <= ${max}`,
  };
}

/** An empty list, with why in words (a setting another choice makes meaningless). */
export function emptyList(why: string): Rule {
  return {
    allowed: `an empty list (${why})`,
    test: (v) => Array.isArray(v) && v.length === 0,
    condition: (ref) => `length(${ref}) == 0`,
  };
}

const labelNamePart = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const labelPrefixPart = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*/';

/** One `key=value` term of a pod label selector: a Kubernetes label key (optional DNS prefix + '/') and value. */
export const labelSelectorTerm = pattern(
  `^(${labelPrefixPart})?${labelNamePart}=(${labelNamePart})?$`,
  "a pod label 'key=value' such as gateway.networking.k8s.io/gateway-name=registry-gateway (key: optional DNS prefix and '/', then at most 63 letters, digits, '-', '_', '.'; value: at most 63 of those, or empty)",
  381,
);

/** `key=value` terms name each key once (the selector is a map: a second value for a key would be lost). */
export const distinctLabelKeys: Rule = {
  allowed: 'label terms with distinct keys',
  test: (v) => Array.isArray(v) && new Set(v.map((x) => String(x).split('=')[0])).size === v.length,
  // try(): a null element is the element rule's to report; this one must not break the evaluation.
  condition: (ref) => `try(length(distinct([for x in ${ref} : split("=", x)[0]])) == length(${ref}), true)`,
};

/** An IPv4 or IPv6 network in CIDR notation (a NetworkPolicy ipBlock): an address, '/', a prefix length. */
export const cidr: Rule = {
  allowed: 'a CIDR such as 203.0.113.0/24 or 2001:db8::/32 (an IPv4 or IPv6 address, then / and a prefix length)',
  test: (v) => {
    if (typeof v !== 'string' || !/^[0-9A-Fa-f:.]+\/[0-9]{1,3}$/.test(v)) return false;
    const [address, prefix] = v.split('/');
    return ipAddress.test(address) && Number(prefix) <= (address.includes(':') ? 128 : 32);
  },
  condition: (ref) =>
    `can(regex("^[0-9A-Fa-f:.]+/[0-9]{1,3}$", ${ref})) && !can(regex(${hcl(ipv4LeadingZero)}, split("/", ${ref})[0])) && can(cidrhost(${ref}, 0))`,
};

/**
 * Ports the ingress-nginx controller keeps for itself (the chart skips a tcp entry on them with only a warning),
 * and 8443, where the chart's admission webhook listens inside the controller pod.
 */
export const RESERVED_INGRESS_NGINX_PORTS = [80, 443, 442, 8181, 10254, 10245, 10246, 10247, 8443] as const;

export const tcpPort: Rule = {
  allowed: 'a whole number from 1 to 65535',
  test: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535,
  condition: (ref) => `${ref} == floor(${ref}) && ${ref} >= 1 && ${ref} <= 65535`,
};

export const unreservedIngressPort: Rule = {
  allowed: `a port ingress-nginx does not reserve for itself (not ${RESERVED_INGRESS_NGINX_PORTS.slice(0, -1).join(', ')}, nor 8443, its admission webhook)`,
  test: (v) => typeof v === 'number' && !(RESERVED_INGRESS_NGINX_PORTS as readonly number[]).includes(v),
  condition: (ref) => `!contains([${RESERVED_INGRESS_NGINX_PORTS.join(', ')}], ${ref})`,
};

export const quantity = pattern(
  '^[0-9]+(\\.[0-9]+)?(m|Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$',
  "a Kubernetes quantity such as 20Gi, 512Mi or 250m (binary suffixes Ki Mi Gi Ti Pi Ei, decimal k M G T P E; not 'GB')",
);

/** A quantity that is not zero: a 0Gi volume or a 0 memory limit is a mistake, never a setting. */
export const positiveQuantity = pattern(
  '^([0-9]*[1-9][0-9]*(\\.[0-9]+)?|[0-9]+\\.[0-9]*[1-9][0-9]*)(m|Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$',
  'a Kubernetes quantity greater than zero such as 20Gi or 512Mi (binary suffixes Ki Mi Gi Ti Pi Ei, decimal k M G T P E)',
);

export const absolutePath = pattern(
  '^(/[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*)+$',
  "an absolute path such as /var/lib/registry (not '/', no '.' or '..' segments, no trailing '/', no spaces)",
  4096,
);

export const imageReference = pattern(
  '^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$',
  'a container image reference such as registry:3.0.0 or docker.io/library/registry@sha256:<64 hex>',
  512,
);

/** The tag must be pinned: `latest` and tag-less references drift between nodes and restarts. */
export const pinnedImage: Rule = {
  allowed: "an image pinned by a tag other than 'latest' or by a sha256 digest",
  test: (v) => typeof v === 'string' && (/@sha256:/.test(v) || (/:[^/]+$/.test(v) && !/:latest$/.test(v))),
  condition: (ref) => `strcontains(${ref}, "@sha256:") || (can(regex(":[^/]+$", ${ref})) && !endswith(${ref}, ":latest"))`,
};

/**
 * Cross-setting rule on the registry image when GC runs with `deleteUntagged`: distribution 2.x's
 * `--delete-untagged` deletes the platform manifests of a tagged multi-arch index (issues #3178, #4939; v3.1 keeps
 * them). Refuses a 2.x tag (`registry:2`, `:2.8.3`, `:2.8.3@sha256:...`); a digest alone names no version.
 */
export const notDistribution2WithDeleteUntagged = forbidden(
  ':2(\\.[0-9]+)*(-[A-Za-z0-9_.-]+)?(@sha256:[a-f0-9]{64})?$',
  'an image of the registry:3 line while garbageCollection.deleteUntagged is true (distribution 2.x deletes the ' +
    'platform manifests of multi-arch images with --delete-untagged: use registry:3.x or set deleteUntagged: false)',
);

/** A bool that must be true in this environment, with why in words. */
export function mustBeTrue(why: string): Rule {
  return { allowed: `true (${why})`, test: (v) => v === true, condition: (ref) => `${ref} == true` };
}

export const userName = pattern(
  '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
  "a user name of letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters (no ':')",
);

export const uniqueList: Rule = {
  allowed: 'a list without repeated entries',
  test: (v) => Array.isArray(v) && new Set(v).size === v.length,
  condition: (ref) => `length(distinct(${ref})) == length(${ref})`,
};

export const nonEmptyList: Rule = {
  allowed: 'a list with at least one entry',
  test: (v) => Array.isArray(v) && v.length > 0,
  condition: (ref) => `length(${ref}) > 0`,
};

/** The user of an htpasswd line, safe to show (never the hash): `, user "admin"`, or nothing without a ':'. */
const htpasswdUser = {
  describe: (v: unknown) => (typeof v === 'string' && v.includes(':') ? `, user ${JSON.stringify(v.split(':')[0])}` : ''),
  describeInTerraform: (ref: string) =>
    `\${nonsensitive(try(strcontains(${ref}, ":") ? ", user \${jsonencode(split(":", ${ref})[0])}" : "", ""))}`,
};

export const bcryptHtpasswdEntry: Rule = {
  ...pattern(
    '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}:\\$2[aby]\\$[0-9]{2}\\$[./A-Za-z0-9]{53}$',
    "an htpasswd line 'user:$2y$10$...' with a bcrypt hash (the registry ignores MD5, SHA1 and crypt entries)",
  ),
  ...htpasswdUser,
};

/** The users of htpasswd lines (`user:hash`), in TypeScript and as a Terraform expression over a list `ref`. */
const htpasswdUsers = (lines: unknown): string[] =>
  (Array.isArray(lines) ? lines : []).map((line) => (typeof line === 'string' ? line.split(':')[0] : ''));
const htpasswdUsersTf = (ref: string) => `[for x in ${ref} : try(split(":", x)[0], "")]`;

/**
 * Cross-field rule on htpasswd_entries: no line for the pull-secret user `<app_name>-pull`, whose generated line
 * the registry would then ignore (the later line wins) and the pull secrets would stop working.
 */
export function noPullUserLine(appName: unknown): Rule {
  const pullUser = `${appName}-pull`;
  return {
    allowed: "lines for users other than the pull-secret user (<app_name>-pull), whose generated password the later line would replace",
    test: (v) => !htpasswdUsers(v).includes(pullUser),
    condition: (ref) => `!contains(${htpasswdUsersTf(ref)}, "\${var.app_name}-pull")`,
    describe: () => `, user ${JSON.stringify(pullUser)}`,
    shown: () => '(sensitive value, user "${var.app_name}-pull")',
  };
}

/**
 * Cross-field rule on registry_users: no generated user also has a pre-hashed line in htpasswd_entries (the later
 * line wins, so registry_passwords would silently stop working). Terraform judges it: htpasswd_entries is set per
 * run (`entries` is its synth-time default, empty). The user names are declassified; the hashes never show.
 */
export function noneInHtpasswd(entries: unknown): Rule {
  const overlapTf = (ref: string) => `sort(setintersection(${ref}, nonsensitive(${htpasswdUsersTf('var.htpasswd_entries')})))`;
  return {
    allowed: 'users without a line in htpasswd_entries (the later line would replace the generated password)',
    test: (v) => Array.isArray(v) && !v.some((user) => htpasswdUsers(entries).includes(user)),
    condition: (ref) => `length(${overlapTf(ref)}) == 0`,
    shown: (ref) => `\${jsonencode(${overlapTf(ref)})}`,
  };
}

/**
 * A Kubernetes quantity as a number, in Terraform: the digits times the suffix's multiplier (m, k..E, Ki..Ei).
 * Only for values that already passed `quantity`.
 */
const quantityNumber = (ref: string) =>
  `tonumber(regex("^[0-9.]+", ${ref})) * lookup({"" = 1, "m" = 0.001, "k" = 1000, "M" = 1000000, "G" = 1000000000, ` +
  `"T" = 1000000000000, "P" = 1000000000000000, "E" = 1000000000000000000, "Ki" = 1024, "Mi" = 1048576, ` +
  `"Gi" = 1073741824, "Ti" = 1099511627776, "Pi" = 1125899906842624, "Ei" = 1152921504606846976}, ` +
  `regex("[A-Za-z]*$", ${ref}), 0)`;

const QUANTITY_MULTIPLIERS: Record<string, number> = {
  '': 1, m: 0.001, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A quantity's value in base units (`512Mi` -> 536870912), or NaN when it is not a quantity. */
export function quantityValue(value: unknown): number {
  const match = typeof value === 'string' ? /^([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)$/.exec(value) : null;
  if (!match || !(match[2] in QUANTITY_MULTIPLIERS)) return NaN;
  return Number(match[1]) * QUANTITY_MULTIPLIERS[match[2]];
}

/**
 * Cross-field rule `field <= other` for quantities (a memory request above its limit fails at apply). A value that
 * is not a quantity is left to its own rule.
 */
export function notAboveQuantity(other: string, otherValue: unknown): Rule {
  return {
    allowed: `a quantity not above ${other}`,
    test: (v) => !(quantityValue(v) > quantityValue(otherValue)),
    condition: (ref) => `try(${quantityNumber(ref)} <= ${quantityNumber(`var.${other}`)}, true)`,
  };
}

const pemWhitespace = '[\\t\\n\\r ]*';
const pemBlock = (kinds: string) =>
  `^-----BEGIN (${kinds})-----\\r?\\n[A-Za-z0-9+/=\\r\\n]+-----END (${kinds})-----${pemWhitespace}`;

export const certificatePem = pattern(
  `${pemBlock('CERTIFICATE')}(-----BEGIN CERTIFICATE-----\\r?\\n[A-Za-z0-9+/=\\r\\n]+-----END CERTIFICATE-----${pemWhitespace})*$`,
  "one or more PEM blocks '-----BEGIN CERTIFICATE-----' ... '-----END CERTIFICATE-----'",
);

export const privateKeyPem = pattern(
  `${pemBlock('EC PRIVATE KEY|RSA PRIVATE KEY|PRIVATE KEY')}$`,
  "one PEM private key block ('BEGIN PRIVATE KEY', 'BEGIN EC PRIVATE KEY' or 'BEGIN RSA PRIVATE KEY'), unencrypted",
);

export const semver = pattern(
  '^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$',
  'an exact chart version such as 4.15.1 (no ranges, no leading v)',
);

export const httpsUrl = hostAndPort({
  scheme: 'https://', port: 'optional', path: true, maxLength: 2048,
  allowed: 'an https:// URL of the Kubernetes API server such as https://203.0.113.5:6443 (port 1-65535)',
});

/** A kubeconfig file: `~` is expanded by the providers; a relative path is read from the stack's directory. */
export const kubeconfigPath = pattern(
  '^[^\\t\\n\\r]*[^/\\t\\n\\r]$',
  "a kubeconfig file path such as ~/.kube/config (no tabs or line breaks, not a directory ending in '/')",
  4096,
);

/** Context names are free-form in kubeconfig (kind-dev, admin@cluster, arn:aws:eks:...:cluster/x), but never blank. */
export const kubeContext = pattern(
  '^[!-~]+$',
  'a kubeconfig context name such as kind-dev or admin@cluster (printable characters, no spaces or line breaks)',
  253,
);

/** A pasted token with a trailing newline is the usual mistake: the API server then answers 401. */
export const bearerToken = pattern(
  '^[A-Za-z0-9._~+/=-]+$',
  'a bearer token (a ServiceAccount JWT: letters, digits and . _ ~ + / = -, no spaces or line breaks)',
  16384,
);

// ---- object storage and Redis ------------------------------------------------------------------------------

/**
 * S3's bucket naming rules (general purpose buckets): the shape, then what the shape lets through (two dots in a
 * row, an IP address, the prefixes and suffixes S3 keeps for itself).
 */
export const s3BucketName = allOf([
  pattern('^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', 'a bucket name shape'),
  forbidden('\\.\\.|^xn--|^sthree-|^amzn-s3-demo-|-s3alias$|--ol-s3$|--x-s3$|\\.mrap$', 'no reserved part'),
  not(ipAddress, 'not an IP address'),
], "an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit, " +
  "no '..', not an IP address, no xn--, sthree- or amzn-s3-demo- prefix, no -s3alias, --ol-s3, --x-s3 or .mrap suffix");

export const s3Region = pattern(
  '^[a-z0-9][a-z0-9-]{0,62}$',
  'a region name of lowercase letters, digits and \'-\' such as eu-west-1 (any name an S3-compatible store accepts)',
);

/** The endpoint of an S3-compatible store: scheme and host (and port), nothing after it. */
export const s3Endpoint = hostAndPort({
  scheme: 'https?://', port: 'optional', maxLength: 2048,
  allowed: 'an http:// or https:// URL of an S3-compatible endpoint such as https://s3.example.internal:9000 (a DNS name or IP address, port 1-65535, no path, no trailing /)',
});

/** distribution v3.1.0's storage classes (storage.s3.storageclass; NONE sends no class, for stores without them). */
export const S3_STORAGE_CLASSES = [
  'STANDARD', 'NONE', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'OUTPOSTS', 'GLACIER_IR',
] as const;

/**
 * Keys and key ids: printable ASCII without spaces (a pasted key with a trailing newline is the usual mistake). The
 * length is checked apart: RE2 refuses repetition counts above 1000.
 */
const printable = (what: string, max: number) => pattern('^[!-~]+$', `${what} (printable characters, no spaces or line breaks, at most ${max})`, max);

export const s3AccessKey = printable('an S3 access key ID', 128);
export const s3SecretKey = printable('an S3 secret access key', 256);
export const kmsKeyId = printable('a KMS key ID, alias or ARN such as arn:aws:kms:eu-west-1:111122223333:key/<id>', 2048);

export const iamRoleArn = pattern(
  '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$',
  'an IAM role ARN such as arn:aws:iam::111122223333:role/registry',
);

/** AWS's own region names: distribution refuses other names unless a region endpoint is set. */
const AWS_REGION = '^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$';

/**
 * Cross-field rule on the region: without an endpoint (AWS itself) it must be an AWS region name, or
 * distribution refuses to start ("invalid region provided"). `endpointValue` is the endpoint's synth-time default.
 */
export function awsRegionWithoutEndpoint(endpoint: string, endpointValue: unknown): Rule {
  return {
    allowed: `an AWS region name such as eu-west-1 when ${endpoint} is empty (other names need an S3-compatible endpoint)`,
    test: (v) => (typeof endpointValue === 'string' && endpointValue !== '') || (typeof v === 'string' && new RegExp(AWS_REGION).test(v)),
    condition: (ref) => `var.${endpoint} != "" || can(regex(${hcl(AWS_REGION)}, ${ref}))`,
  };
}

/** Cross-field rule: a string that must stay empty unless the bool variable `other` is true. */
export function emptyUnless(other: string, otherValue: unknown): Rule {
  return {
    allowed: `empty unless ${other} is true`,
    test: (v) => v === '' || otherValue === true,
    condition: (ref) => `${ref} == "" || var.${other}`,
  };
}

/** A Redis address: host:port, with an IPv6 host in brackets. */
export const redisAddress = hostAndPort({
  scheme: '', port: 'required', maxLength: 260,
  allowed: 'a Redis address host:port such as redis.registry.svc:6379 or [2001:db8::6]:6379 (no scheme; port 1-65535)',
});

export const redisUserName = printable('a Redis ACL user name', 128);

/** Redis passwords go through a Secret: anything but line breaks (a pasted trailing newline never matches). */
export const redisPassword = pattern('^[^\\r\\n]+$', 'a Redis password of at most 512 characters, without line breaks', 512);

export const wholeNumber = (min: number, max: number): Rule => ({
  allowed: `a whole number from ${min} to ${max}`,
  test: (v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max,
  condition: (ref) => `${ref} == floor(${ref}) && ${ref} >= ${min} && ${ref} <= ${max}`,
});

/**
 * Replicas on storage only one pod can mount: always 1, with a message saying why (not "from 1 to 1").
 */
export const singleReplica: Rule = {
  allowed: "1: this environment's storage is ReadWriteOnce (more replicas need a ReadWriteMany storage class)",
  test: (v) => v === 1,
  condition: (ref) => `${ref} == 1`,
};

/**
 * Cross-field rule `field < other`. `otherValue` is the other field's synth-time value (its default): the
 * TypeScript side compares against it, the Terraform side against `var.<other>` as the operator set it.
 */
export function lessThanVariable(other: string, otherValue: unknown): Rule {
  return {
    allowed: `a number smaller than ${other}`,
    test: (v) => typeof v === 'number' && typeof otherValue === 'number' && v < otherValue,
    condition: (ref) => `${ref} < var.${other}`,
  };
}

/** Cross-field rule `field >= other`, as `lessThanVariable` (the other field's synth-time value for the TypeScript side). */
export function atLeastVariable(other: string, otherValue: unknown): Rule {
  return {
    allowed: `a number at least ${other}`,
    test: (v) => typeof v === 'number' && typeof otherValue === 'number' && v >= otherValue,
    condition: (ref) => `${ref} >= var.${other}`,
  };
}

/**
 * Cross-field rule on a user list: together with the `other` list (pre-hashed htpasswd entries) at least one
 * user must exist; an empty htpasswd file would leave nobody able to log in, and no file at all an open registry.
 */
export function atLeastOneUserWith(other: string, otherValue: readonly unknown[]): Rule {
  return {
    allowed: `at least one user in this list or in ${other} (a registry without users is not allowed)`,
    test: (v) => Array.isArray(v) && v.length + otherValue.length > 0,
    condition: (ref) => `length(${ref}) + length(var.${other}) > 0`,
  };
}

/**
 * Cross-field rule on a user list: the pull-secret user `<app_name>-pull` is generated by the stack and must not
 * be listed again (the later htpasswd line would win and the pull secrets would stop working).
 */
export function notPullUser(appName: unknown): Rule {
  return {
    allowed: "names other than the pull-secret user's (<app_name>-pull)",
    test: (v) => Array.isArray(v) && !v.includes(`${appName}-pull`),
    condition: (ref) => `!contains(${ref}, "\${var.app_name}-pull")`,
    shown: () => '"${var.app_name}-pull"',
  };
}

/** Cross-field rule `field != other` for strings; `otherValue` is the other field's synth-time value. */
export function differentFrom(other: string, otherValue: unknown, allowed: string): Rule {
  return {
    allowed,
    test: (v) => v !== otherValue,
    condition: (ref) => `${ref} != var.${other}`,
    shown: (ref) => `"\${${ref}}"`,
  };
}

/** One of a fixed set of strings (the TypeScript unions, checked for JavaScript callers and hand-edited settings). */
export function oneOf(values: readonly string[], allowed = `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`): Rule {
  return {
    allowed,
    test: (v) => typeof v === 'string' && values.includes(v),
    condition: (ref) => `contains([${values.map(hcl).join(', ')}], ${ref})`,
  };
}

/** A boolean setting (environment settings; bool variables need no rule, Terraform converts and refuses other values). */
export const boolean: Rule = {
  allowed: 'true or false',
  test: (v) => typeof v === 'boolean',
  condition: (ref) => `${ref} == true || ${ref} == false`,
};

/** One failed check, worded the same on both sides. */
export function message(field: string, shownValue: string, rule: Pick<Rule, 'allowed'>): string {
  return `${field}: ${shownValue} is not allowed; expected ${rule.allowed}.`;
}

/** Synth-time check: throws an Error naming the field, the value and what is allowed. */
export function check(field: string, value: unknown, rules: readonly Rule[], sensitive = false): void {
  for (const rule of rules) {
    if (rule.test(value)) continue;
    if (Array.isArray(value) && rule.element) {
      // Name the first element that fails, by index, and what an element must be.
      const index = value.findIndex((x) => !rule.element!.test(x));
      if (index >= 0) throw new Error(message(`${field}[${index}]`, showValue(value[index], sensitive, rule.element), rule.element));
    }
    throw new Error(message(field, showValue(value, sensitive, rule), rule));
  }
}

function showValue(value: unknown, sensitive: boolean, rule: Rule): string {
  if (!sensitive) return JSON.stringify(value);
  return rule.describe ? `(sensitive value${rule.describe(value)})` : '(sensitive value)';
}

/**
 * The Terraform `validation` blocks for a variable. The error message repeats the TypeScript wording; the value
 * is shown with jsonencode (non-sensitive variables only) and, for lists, the offending elements are named.
 */
export function terraformValidations(
  field: string,
  rules: readonly Rule[],
  sensitive = false,
): { condition: string; errorMessage: string }[] {
  const ref = `var.${field}`;
  const shownIn = (target: string, rule: Rule) => {
    if (!sensitive) return `\${jsonencode(${target})}`;
    return rule.describeInTerraform ? `(sensitive value${rule.describeInTerraform(target)})` : '(sensitive value)';
  };
  return rules.map((rule) => {
    let named = field;
    let shown = shownIn(ref, rule);
    let shownRule = rule;
    if (rule.element) {
      // The first failing element. Terraform also evaluates messages of validations that pass (where there is no
      // such element): try() keeps that evaluation from failing.
      const first = `[for i, x in ${ref} : i if !(${rule.element.condition('x')})][0]`;
      named = `${field}[\${try(${first}, "?")}]`;
      shown = sensitive ? shownIn(`${ref}[${first}]`, rule.element) : `\${try(jsonencode(${ref}[${first}]), "?")}`;
      shownRule = rule.element;
    }
    if (rule.shown) shown = rule.shown(ref);
    return {
      condition: `\${${rule.condition(ref)}}`,
      // Terraform refuses to print a message that reveals a sensitive value: sensitive fields show only what the
      // rule declares safe (a user name, never a hash).
      errorMessage: message(named, shown, { allowed: escapeTemplate(shownRule.allowed) }),
    };
  });
}

// ---- operations: garbage collection and the pull-through cache ------------------------------------------------

/**
 * One field of a cron line as Kubernetes reads it (robfig/cron v3's standard parser): `*` or `?`, a value, or a
 * range `a-b`, each with an optional `/step`, comma-separated. `values` is the alternation of allowed values.
 * (A range written backwards, `5-1`, passes it: a regular expression cannot compare its ends; `cronRangesInOrder` does.)
 */
const cronField = (values: string) => {
  const term = `([*?]|(${values})(-(${values}))?)(/[1-9][0-9]{0,2})?`;
  return `${term}(,${term})*`;
};

/** Three-letter names as robfig/cron matches them (case-insensitively): sun, Sun and SUN. */
const cronNames = (names: string) => names.split(' ').flatMap((n) => [n, n[0].toUpperCase() + n.slice(1), n.toUpperCase()]).join('|');

const CRON_FIELDS = [
  '0?[0-9]|[1-5][0-9]', // minute 0-59
  '0?[0-9]|1[0-9]|2[0-3]', // hour 0-23
  '0?[1-9]|[12][0-9]|3[01]', // day of month 1-31
  `0?[1-9]|1[0-2]|${cronNames('jan feb mar apr may jun jul aug sep oct nov dec')}`, // month 1-12 or a name
  `0?[0-6]|${cronNames('sun mon tue wed thu fri sat')}`, // day of week 0-6 or a name (7 is not Sunday here)
];

/**
 * A cron schedule as a CronJob's `spec.schedule` takes it: five fields within their ranges, or a descriptor.
 * Kubernetes also takes `@every <duration>`; a GC window is a time of day, so it is not offered. `TZ=`/`CRON_TZ=`
 * prefixes are refused by Kubernetes since 1.27 (the CronJob's `timeZone` field replaces them).
 */
export const cronSchedule = pattern(
  `^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|${CRON_FIELDS.map(cronField).join(' ')})$`,
  'a cron schedule of five fields such as "0 3 * * 0" (Sundays 03:00): minute 0-59, hour 0-23, day of month 1-31, ' +
    'month 1-12 or jan-dec, day of week 0-6 or sun-sat; only * ? , - / as special characters; or a macro such as @weekly',
  100,
);

/** Month and day names as robfig/cron numbers them (jan = 1, sun = 0). */
const CRON_NAME_NUMBERS: Record<string, number> = Object.fromEntries([
  ...'jan feb mar apr may jun jul aug sep oct nov dec'.split(' ').map((n, i) => [n, i + 1]),
  ...'sun mon tue wed thu fri sat'.split(' ').map((n, i) => [n, i]),
]);
const CRON_RANGE = '([0-9A-Za-z]+)-([0-9A-Za-z]+)';

/**
 * Every range `a-b` of a cron schedule runs forward (robfig/cron v3 refuses "beginning of range beyond end of
 * range", so the API server would refuse the CronJob at apply). Only for values that passed `cronSchedule`: anything
 * else passes here and fails there.
 */
export const cronRangesInOrder: Rule = {
  allowed: 'ranges written low-high, such as 1-5 or mon-fri (a backwards range such as 5-1 is refused by Kubernetes)',
  test: (v) => {
    if (typeof v !== 'string') return true;
    const number = (x: string) => CRON_NAME_NUMBERS[x.toLowerCase()] ?? Number(x);
    return [...v.matchAll(new RegExp(CRON_RANGE, 'g'))].every((m) => !(number(m[1]) > number(m[2])));
  },
  condition: (ref) => {
    const names = `{${Object.entries(CRON_NAME_NUMBERS).map(([n, i]) => `${n} = ${i}`).join(', ')}}`;
    const number = (x: string) => `tonumber(lookup(${names}, lower(${x}), ${x}))`;
    return `try(alltrue([for r in regexall(${hcl(CRON_RANGE)}, ${ref}) : ${number('r[0]')} <= ${number('r[1]')}]), true)`;
  },
};

/** The upstream of a pull-through cache: an https:// origin, no path (distribution's `proxy.remoteurl`). */
export const registryUrl = hostAndPort({
  scheme: 'https://', port: 'optional', maxLength: 253,
  allowed: 'an https:// registry URL without a path such as https://registry-1.docker.io or https://quay.io (port 1-65535)',
});

/** The registry name image references use (the part before the first '/'): docker.io, quay.io, host:port. */
export const registryHost = hostAndPort({
  scheme: '', port: 'optional', maxLength: 253,
  allowed: 'a registry name as written in image references such as docker.io, quay.io or registry.example.com:5000 (no scheme or path; port 1-65535)',
});

/** Go's largest duration, 2562047h47m16.854775807s, in whole seconds (the units offered here are h, m and s). */
const MAX_DURATION_SECONDS = 9223372036;
const DURATION = '^(0|([0-9]+h)?([0-9]+m)?([0-9]+s)?)$';

/**
 * A distribution duration for `proxy.ttl` (read with Go's time.ParseDuration): hours, minutes, seconds, or 0 for
 * never; not empty, and at most Go's largest duration (a larger one fails when the registry starts).
 */
export const ttlDuration: Rule = {
  allowed: 'a duration such as 168h, 72h30m or 0 (cached content never expires), at most 2562047h47m16s',
  test: (v) => {
    const match = typeof v === 'string' && v !== '' ? new RegExp(DURATION).exec(v) : null;
    if (!match) return false;
    const [h, m, s] = [match[2], match[3], match[4]].map((part) => Number(part?.slice(0, -1) ?? 0));
    return h * 3600 + m * 60 + s <= MAX_DURATION_SECONDS;
  },
  // regex() gives null for a group that did not take part: coalesce() makes it 0.
  condition: (ref) =>
    `try(${ref} != "" && alltrue([for g in [regex(${hcl(DURATION)}, ${ref})] : ` +
    `tonumber(trimsuffix(coalesce(g[1], "0h"), "h")) * 3600 + tonumber(trimsuffix(coalesce(g[2], "0m"), "m")) * 60 + ` +
    `tonumber(trimsuffix(coalesce(g[3], "0s"), "s")) <= ${MAX_DURATION_SECONDS}]), false)`,
};

/** A credential typed into a variable: printable, no spaces or line breaks (a pasted newline breaks basic auth). */
export const credential = pattern(
  '^[!-~]+$',
  'printable characters without spaces or line breaks',
  4096,
);

/** Cross-field rule for a credential pair: both set or both empty (`otherValue` is the other's synth-time value). */
export function bothOrNeither(other: string, otherValue: unknown): Rule {
  return {
    allowed: `a value exactly when ${other} has one (both empty for anonymous pulls)`,
    test: (v) => (v === '' || v === undefined || v === null) === (otherValue === '' || otherValue === undefined || otherValue === null),
    condition: (ref) => `(${ref} == "") == (var.${other} == "")`,
  };
}

// ---- roles (lib/auth/grants.ts) -------------------------------------------------------------------------------

/** A repository glob: lowercase name components of letters, digits, `.`, `_`, `-` and `*`, separated by `/`. */
const REPOSITORY_GLOB = '[a-z0-9*][a-z0-9._*-]*(/[a-z0-9*][a-z0-9._*-]*)*';
/** A role entry, its user in the grammar of `userName`. */
const ROLE_ENTRY = `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}:(admin|(push|pull):${REPOSITORY_GLOB}(,${REPOSITORY_GLOB})*)$`;

/** One `registry_roles` entry. */
export const roleEntry = pattern(
  ROLE_ENTRY,
  "'<user>:admin', '<user>:push:<glob>[,<glob>...]' or '<user>:pull:<glob>[,<glob>...]', such as 'ci:push:team-a/*' " +
    "(a glob is a lowercase repository name where * matches within one path component and ** across components)",
  1024,
);

/** A repository glob anyone may pull (`anonymous_pull_repositories`). */
export const repositoryGlob = pattern(
  `^${REPOSITORY_GLOB}$`,
  'a lowercase repository name or glob such as public/* (* within one path component, ** across components)',
  255,
);

/** Each user has at most one role entry. */
export const oneRolePerUser: Rule = {
  allowed: 'at most one entry per user',
  test: (v) => Array.isArray(v) && new Set(v.map((e: string) => String(e).split(':')[0])).size === v.length,
  condition: (ref) => `length(distinct([for e in ${ref} : split(":", e)[0]])) == length(${ref})`,
};

/**
 * Cross-field rule on registry_roles: every entry names a user that has a password (in `registry_users` or a line of
 * `htpasswd_entries`). A misspelt name would grant nothing, and the user meant would stay admin (no entry). Only
 * Terraform can judge it fully: htpasswd_entries is set per run, so at synth time (`entries` empty) nothing is refused.
 */
export function rolesForUsersWithPasswords(users: unknown, entries: unknown, appName: unknown): Rule {
  // The pull-secret user has a password too; an entry for it is refused by noPullUserRole, not here.
  const unknownTf = (ref: string) =>
    `sort(setsubtract([for e in ${ref} : split(":", e)[0]], concat(var.registry_users, nonsensitive(${htpasswdUsersTf('var.htpasswd_entries')}), ["\${var.app_name}-pull"])))`;
  return {
    allowed: 'entries for users of registry_users or htpasswd_entries (an entry for a user without a password grants nothing, and the user meant stays admin)',
    test: (v) => {
      const known = [...(Array.isArray(users) ? users : []), ...htpasswdUsers(entries), `${appName}-pull`];
      return !Array.isArray(v) || htpasswdUsers(entries).length === 0 || v.every((e) => known.includes(String(e).split(':')[0]));
    },
    condition: (ref) => `length(${unknownTf(ref)}) == 0`,
    shown: (ref) => `\${jsonencode(${unknownTf(ref)})}`,
  };
}

/** The pull-secret user's role is fixed (pull on every repository): no entry may name it. */
export function noPullUserRole(appName: unknown): Rule {
  return {
    allowed: "no entry for the pull-secret user <app_name>-pull (it is pull-only on every repository)",
    test: (v) => Array.isArray(v) && !v.some((e: string) => String(e).split(':')[0] === `${appName}-pull`),
    condition: (ref) => `!contains([for e in ${ref} : split(":", e)[0]], "\${var.app_name}-pull")`,
    shown: () => '"${var.app_name}-pull"',
  };
}
