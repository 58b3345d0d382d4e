/**
 * Raw Terraform expressions, each with a name. Everything else in lib/ builds expressions with cdktf's `Fn`,
 * `Op` and iterators; these are the few that cdktf cannot write (conditionals on empty strings, `for` bodies,
 * nested templates) and they live here so a reader finds every hand-written HCL string in one place.
 */

/** `var.<name>` as a Terraform reference inside an expression. */
export const variableRef = (name: string): string => `var.${name}`;

/** A string variable that means "not set" when empty: Terraform Cloud workspace variables cannot be null. */
export const nullIfEmpty = (name: string): string => `\${var.${name} == "" ? null : var.${name}}`;

/** A provider argument that only applies without `kube_host` (a kubeconfig path or context). */
export const unlessKubeHost = (name: string): string =>
  `\${var.kube_host != "" ? null : (var.${name} == "" ? null : var.${name})}`;

/** `for` body: an IPv6 address written in brackets, as in "host:port" references; other hosts unchanged. */
export const BRACKET_IPV6 = 'strcontains(val, ":") ? "[${val}]" : val';

/** `for` body: `"<host>:<port>"` for each host. */
export const withPort = (port: string): string => `"\${val}:${port}"`;

/** `for` body over generated passwords: an htpasswd line `user:<bcrypt hash>`. */
export const HTPASSWD_LINE = '"${key}:${val.bcrypt_hash}"';

/** `for` body over a map of lists: keep the entries whose list is not empty. */
export const NON_EMPTY_VALUES = 'val if length(val) > 0';

/** `host:port` of the endpoint: the first registry domain and the client port. */
export const endpoint = (port: string): string => `\${element(var.registry_domains, 0)}:${port}`;

/** The pull-secret user of the app, `<app_name>-pull`, inside an HCL template. */
export const PULL_USER_TEMPLATE = '${var.app_name}-pull';

/** `true` when a string variable is set (not empty): S3 path-style addressing goes with a custom endpoint. */
export const isSet = (name: string): string => `\${var.${name} != ""}`;

/** `false` for an `http://` endpoint, else `true` (distribution's `secure`: TLS to the store). */
export const notPlainHttp = (name: string): string => `\${!startswith(var.${name}, "http://")}`;
