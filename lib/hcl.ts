/**
 * Raw Terraform expressions, each with a name. Everything else in lib/ builds expressions with cdktf's `Fn`,
 * `Op` and iterators; these are the few that cdktf cannot write (conditionals on empty strings, `for` bodies,
 * nested templates) and they live here so a reader finds every hand-written HCL string in one place.
 */

/**
 * Text placed verbatim in a Terraform string: in Terraform's JSON syntax every string is a template, where `${`
 * starts an interpolation and `%{` a directive. Escaped, they stay literal (`$${`, `%%{`).
 */
export function escapeTemplate(text: string): string {
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/** How cdktf marks a string token inside a string until synthesis resolves it (cdktf's BEGIN_STRING_TOKEN_MARKER). */
const CDKTF_STRING_TOKEN = '${TfToken[';

/**
 * Literal text that enters a resource: a script, a config file, a template. Every resource argument that takes
 * such text receives it through this function, so shell (`${VAR:-}`, `${#x}`) and template syntax reach the
 * container as written instead of being read by Terraform. cdktf tokens inside the text (a variable's value
 * spliced into a file) are left alone and still resolve to Terraform expressions.
 */
export function literalText(text: string): string {
  return mapLiteralParts(text, escapeTemplate);
}

/** `text` with `escape` applied to everything but the cdktf string tokens in it. */
function mapLiteralParts(text: string, escape: (part: string) => string): string {
  return text.split(CDKTF_STRING_TOKEN).map((part, i) => {
    if (i === 0) return escape(part);
    // `part` starts with the token's key: keep it up to the marker's end, escape what follows.
    const end = part.indexOf(']}') + 2;
    return CDKTF_STRING_TOKEN + part.slice(0, end) + escape(part.slice(end));
  }).join('');
}

/**
 * Literal text that cdktf writes as a quoted string inside a Terraform expression (an argument of `Fn.jsonencode`,
 * ...): cdktf escapes `${` there but neither `"` nor `\\`, so a PromQL matcher `job="x"` would end the string. Quotes
 * and backslashes are escaped; cdktf tokens are left alone.
 */
export function expressionString(text: string): string {
  return mapLiteralParts(text, (part) => part.replace(/[\\"]/g, (c) => `\\${c}`));
}

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

/**
 * `:<port>` as an image reference writes it: nothing for 443, the port HTTPS clients assume (`registry.example.com/app`
 * and `registry.example.com:443/app` are different keys to docker and the kubelet). `port` is digits or `${expr}`.
 */
export function imagePortSuffix(port: string): string {
  const expression = /^\$\{(.+)\}$/.exec(port);
  if (expression) return `\${${expression[1]} == 443 ? "" : ":\${${expression[1]}}"}`;
  return port === '443' ? '' : `:${port}`;
}

/** `for` body: each host as image references name it (`imagePortSuffix`). */
export const withImagePort = (port: string): string => `"\${val}${imagePortSuffix(port)}"`;

/** `for` body over a map of lists: keep the entries whose list is not empty. */
export const NON_EMPTY_VALUES = 'val if length(val) > 0';

/** `host:port` of the endpoint: the first registry domain and the client port. */
export const endpoint = (port: string): string => `\${element(var.registry_domains, 0)}${imagePortSuffix(port)}`;

/** The pull-secret user of the app, `<app_name>-pull`, inside an HCL template. */
export const PULL_USER_TEMPLATE = '${var.app_name}-pull';

/**
 * Per user, ready-to-run login commands: the password read from outputs.json by jq (`--arg`, so no quoting of the
 * stack or user name), piped to `--password-stdin`; podman trusts the CA in ./registry-certs (save_ca writes it).
 */
export const loginCommandsByUser = (stackName: string, endpoint: string, caGiven?: string): string => {
  const password = `jq -r --arg s ${stackName} --arg u \${u} '.[$s].registry_passwords[$u]' outputs.json`;
  // Without a CA (a public cert-manager issuer) the clients' own roots verify the registry: no CA flags.
  const ca = (flag: string) => (caGiven === undefined ? ` ${flag}` : `\${${caGiven} ? " ${flag}" : ""}`);
  return `\${{for u in var.registry_users : u => {` +
    `docker = "${password} | docker login ${endpoint} --username \${u} --password-stdin", ` +
    `podman = "${password} | podman login ${endpoint} --username \${u} --password-stdin${ca('--cert-dir registry-certs')}", ` +
    `skopeo = "${password} | skopeo login ${endpoint} --username \${u} --password-stdin${ca('--cert-dir registry-certs')}", ` +
    `registry_check = "${password} | npm run -s check -- ${endpoint} --user \${u} --password-stdin${ca('--ca-file registry-ca.crt')}"` +
    '}}}';
};

/** Whether the cert-manager issuer's CA is given (empty for a public issuer), as an HCL condition. */
export const CERT_MANAGER_CA_GIVEN = 'length(nonsensitive(var.cert_manager_ca_pem)) >= 1';

/** `count` of a resource that exists only while a list is not empty (a literal 0 would render as undefined). */
export const oneIfAny = (list: string): string => `\${length(${list}) > 0 ? 1 : 0}`;

/**
 * The tcp-services map of an ingress-nginx Helm release, as its chart rendered it (`<fullname>-tcp`), from a
 * `kubernetes_resources` data source listing the release's controller ConfigMaps; `{}` when there is none.
 */
export const renderedTcpMap = (objects: string): string =>
  `try([for o in ${objects} : o.data if endswith(o.metadata.name, "-tcp") && o.data != null][0], {})`;

/**
 * Chart values for an adopted release: our routes on their ports, and `null` for every other port that routes to
 * one of our Services (a port this stack used before). Helm merges new values over the release's old ones
 * (reuse_values) and drops keys set to null, so a changed port does not leave the old one open. Other services'
 * routes are untouched.
 */
export const adoptedTcpValues = (objects: string, routes: readonly { port: string; route: string }[]): string => {
  const list = (values: string[]) => `[${values.map((v) => `"${v}"`).join(', ')}]`;
  const ours = list(routes.map((r) => r.route));
  const ports = list(routes.map((r) => r.port));
  return `\${yamlencode({tcp = merge(` +
    `{for k, v in ${renderedTcpMap(objects)} : k => null if contains(${ours}, v) && !contains(${ports}, k)}, ` +
    `{${routes.map((r) => `("${r.port}") = "${r.route}"`).join(', ')}})})}`;
};

/**
 * The `helm.sh/chart` label of a release's controller (`ingress-nginx-4.15.1`), from the lists of its Deployments and
 * DaemonSets (the chart's `controller.kind`), or "" when none is found.
 */
export const installedChart = (...objectLists: string[]): string =>
  `try([for o in concat(${objectLists.join(', ')}) : o.metadata.labels["helm.sh/chart"]][0], "")`;

/** `true` when a string variable is set (not empty): S3 path-style addressing goes with a custom endpoint. */
export const isSet = (name: string): string => `\${var.${name} != ""}`;

/** `false` for an `http://` endpoint, else `true` (distribution's `secure`: TLS to the store). */
export const notPlainHttp = (name: string): string => `\${!startswith(var.${name}, "http://")}`;
