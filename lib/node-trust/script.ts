/**
 * Node CA trust: renders the POSIX `sh` script a DaemonSet (or init container) runs on every node so the
 * container runtime trusts the registry CA without `--insecure-registry`:
 *
 * - containerd: `<certs.d>/<host:port>/ca.crt` + `hosts.toml` (needs `config_path` set, see docs/node-trust.md)
 * - CRI-O / podman / skopeo (containers-image): `/etc/containers/certs.d/<host:port>/ca.crt`
 *
 * Pure module: no cdktf import. The script runs under busybox/alpine `sh` and dash (POSIX only).
 */
import * as rules from '../rules';

export interface NodeTrustScriptOptions {
  /**
   * Registries the nodes pull from, each "host:port" exactly as written in image references (no scheme).
   * @default - read at run time from the REGISTRY_HOSTS environment variable (space-separated "host:port"
   * entries, checked by the script), for lists only known at deploy time such as Terraform variables
   */
  readonly registryHosts?: readonly string[];
  /** Where the CA PEM is mounted in the pod, e.g. /run/registry-ca/ca.crt (re-read on every pass). */
  readonly caPath: string;
  /** Where the host's /etc/containerd/certs.d is mounted in the pod. */
  readonly containerdCertsDir: string;
  /** Where the host's /etc/containers/certs.d is mounted in the pod. */
  readonly containersCertsDir: string;
  /** Seconds between passes; a rotated CA reaches the nodes within this time. */
  readonly intervalSeconds: number;
  /**
   * The host-side path of `containerdCertsDir`: containerd reads hosts.toml on the node, so its `ca` entry must
   * name the file as the node sees it, not as the pod does.
   * @default '/etc/containerd/certs.d'
   */
  readonly containerdHostCertsDir?: string;
  /**
   * Also point the runtimes at a pull-through cache for one upstream: containerd
   * `<certs.d>/<upstream>/hosts.toml` (the cache as pull/resolve host, the upstream as `server` fallback, plus the CA)
   * and a CRI-O / containers-registries.conf drop-in with a `[[registry.mirror]]`. The upstream and the cache's
   * "host:port" are read at run time from MIRROR_UPSTREAM, MIRROR_UPSTREAM_URL and MIRROR_HOST (Terraform values).
   * @default - no cache
   */
  readonly mirror?: {
    /** Where the host's /etc/containers/registries.conf.d is mounted in the pod. */
    readonly containersRegistriesDir: string;
  };
}

/** The drop-in the script keeps in registries.conf.d (CRI-O reads it on start and on SIGHUP). */
export const MIRROR_DROP_IN = 'private-registry-mirror.conf';
/** Environment variables the script reads the cache settings from. */
export const MIRROR_ENV = { upstream: 'MIRROR_UPSTREAM', upstreamUrl: 'MIRROR_UPSTREAM_URL', host: 'MIRROR_HOST', auth: 'MIRROR_AUTH' } as const;
/**
 * The cache's credential for CRI-O / podman (containers-auth.json(5)), beside the drop-in in registries.conf.d (only
 * `*.conf` files there are read as configuration). CRI-O uses it once `global_auth_file` names it (`node_steps`).
 */
export const MIRROR_AUTH_FILE = 'private-registry-mirror-auth.json';

export const DEFAULT_CONTAINERD_HOST_CERTS_DIR = '/etc/containerd/certs.d';

/** Same wording as the stack's other rules: `<field>: <value> is not allowed; expected <what>.` */
function reject(field: string, value: unknown, allowed: string): never {
  throw new Error(rules.message(field, JSON.stringify(value), { allowed }));
}

const HOST_PORT_ALLOWED =
  '"host:port" such as registry.example.com:5000, 192.0.2.10:5000 or [2001:db8::1]:5000 (a lowercase DNS name, IPv4 address or bracketed IPv6 address, then a port from 1 to 65535; no scheme or path)';

/**
 * True for "host:port" with a DNS name, an IPv4 address or a bracketed IPv6 address, and a port 1-65535: the
 * stack's own domain, IP address and port rules, so what the variables accept is exactly what nodes accept.
 */
export function isRegistryHostPort(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const colon = value.lastIndexOf(':');
  if (colon < 0) return false;
  const host = value.slice(0, colon);
  const port = value.slice(colon + 1);
  if (!/^[1-9][0-9]{0,4}$/.test(port) || !rules.tcpPort.test(Number(port))) return false;
  if (host.startsWith('[') && host.endsWith(']')) return host.includes(':') && rules.ipAddress.test(host.slice(1, -1));
  // all-numeric dotted names are meant as IPv4 addresses: hold them to that
  if (/^[0-9.]+$/.test(host)) return rules.ipAddress.test(host);
  return rules.domainName.test(host);
}

/** Throws an Error naming the field and the value for the first option that is not allowed. */
export function validateNodeTrustScriptOptions(opts: NodeTrustScriptOptions): void {
  const hosts = opts.registryHosts;
  if (hosts !== undefined && (!Array.isArray(hosts) || hosts.length === 0)) reject('registryHosts', hosts, 'a list with at least one "host:port"');
  hosts?.forEach((entry, i) => {
    if (!isRegistryHostPort(entry)) reject(`registryHosts[${i}]`, entry, HOST_PORT_ALLOWED);
    if (hosts.indexOf(entry) !== i) reject(`registryHosts[${i}]`, entry, `a "host:port" not already listed (it repeats registryHosts[${hosts.indexOf(entry)}])`);
  });
  const paths: Array<[string, unknown]> = [
    ['caPath', opts.caPath],
    ['containerdCertsDir', opts.containerdCertsDir],
    ['containersCertsDir', opts.containersCertsDir],
    ['containerdHostCertsDir', opts.containerdHostCertsDir ?? DEFAULT_CONTAINERD_HOST_CERTS_DIR],
  ];
  if (opts.mirror) paths.push(['mirror.containersRegistriesDir', opts.mirror.containersRegistriesDir]);
  for (const [field, value] of paths) rules.check(field, value, [rules.absolutePath]);
  const interval = opts.intervalSeconds;
  if (typeof interval !== 'number' || !Number.isInteger(interval) || interval < 1 || interval > 86400) {
    reject('intervalSeconds', interval, 'a whole number of seconds from 1 to 86400');
  }
}

/**
 * A containerd `hosts.toml` (its documented format: `server`, then a `[host."<url>"]` table with `capabilities` and
 * `ca`): pulls go to `hostUrl`, trusting `caHostPath`; `server` is the fallback.
 */
function containerdHostsToml(server: string, hostUrl: string, caHostPath: string, basicAuth?: string): string {
  return [
    '# Written by the registry node-trust script; rewritten when it differs.',
    `server = "${server}"`,
    '',
    `[host."${hostUrl}"]`,
    '  capabilities = ["pull", "resolve"]',
    `  ca = "${caHostPath}"`,
    // containerd sends these headers with every request to this host (and pod pull secrets only to the image's host).
    ...(basicAuth === undefined ? [] : [`  header = { Authorization = "Basic ${basicAuth}" }`]),
    '',
  ].join('\n');
}

/** The text of `<certs.d>/<host:port>/hosts.toml` for containerd, trusting `caHostPath` for that registry. */
export function renderContainerdHostsToml(hostPort: string, caHostPath: string): string {
  return containerdHostsToml(`https://${hostPort}`, `https://${hostPort}`, caHostPath);
}

/**
 * containerd `<certs.d>/<upstream>/hosts.toml` sending pulls of `upstream` to the cache first, the upstream itself
 * (`server`) when the cache fails.
 */
export function renderContainerdMirrorHostsToml(upstreamUrl: string, mirrorHostPort: string, caHostPath: string, basicAuth: string): string {
  return containerdHostsToml(upstreamUrl, `https://${mirrorHostPort}`, caHostPath, basicAuth);
}

/** containers-auth.json(5) with the cache's credential (`basicAuth` = base64("user:password")). */
export function renderMirrorAuthJson(mirrorHostPort: string, basicAuth: string): string {
  return `{"auths": {"${mirrorHostPort}": {"auth": "${basicAuth}"}}}\n`;
}

/**
 * A containers-registries.conf(5) drop-in: images of `upstream` are pulled from the cache first, then from the
 * upstream (CRI-O, podman, skopeo, buildah). The cache's CA comes from certs.d/<host:port>/ca.crt.
 */
export function renderRegistriesConfMirror(upstream: string, mirrorHostPort: string): string {
  return [
    '# Written by the registry node-trust script; rewritten when it differs.',
    '[[registry]]',
    `prefix = "${upstream}"`,
    `location = "${upstream}"`,
    '',
    '[[registry.mirror]]',
    `location = "${mirrorHostPort}"`,
    '',
  ].join('\n');
}

/** Single-quotes a value for sh (validated values never contain quotes; this keeps it safe regardless). */
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * `text` as printf arguments, one per line, with placeholders (\0name) replaced by shell expressions: a rendered
 * file and the script's function writing it share one definition.
 */
function printfArgs(text: string, shell: Record<string, string>): string {
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => (/[$\0]/.test(line)
      ? `"${line.replace(/"/g, '\\"').replace(/\0([a-z]+)/g, (_, name: string) => shell[name])}"`
      : shq(line)))
    .map((arg) => `    ${arg}`)
    .join(' \\\n');
}

/**
 * The printf arguments of the script's `hosts_toml` function: the lines of `renderContainerdHostsToml` with the
 * host:port and the CA path left to the shell (`$1`, `$CONTAINERD_HOST_CERTS_DIR`), so the file containerd reads
 * has one definition.
 */
const HOSTS_TOML_PRINTF_ARGS = renderContainerdHostsToml('\0host', '$CONTAINERD_HOST_CERTS_DIR/\0host/ca.crt')
  .split('\n')
  .slice(0, -1)
  .map((line) => (/[$\0]/.test(line) ? `"${line.replace(/"/g, '\\"').replace(/\0host/g, '$1')}"` : shq(line)))
  .map((arg) => `    ${arg}`)
  .join(' \\\n');

/** The script's cache part (settings, functions): empty without a cache, so such scripts stay as they were. */
function mirrorSettings(opts: NodeTrustScriptOptions): string {
  if (!opts.mirror) return '';
  return `# pull-through cache for one upstream registry (MIRROR_* from the pod's environment)
CONTAINERS_REGISTRIES_DIR=${shq(opts.mirror.containersRegistriesDir)}
MIRROR_UPSTREAM=\${${MIRROR_ENV.upstream}:-}
MIRROR_UPSTREAM_URL=\${${MIRROR_ENV.upstreamUrl}:-}
MIRROR_HOST=\${${MIRROR_ENV.host}:-}
MIRROR_AUTH=\${${MIRROR_ENV.auth}:-}
`;
}

function mirrorFunctions(opts: NodeTrustScriptOptions): string {
  if (!opts.mirror) return '';
  const toml = printfArgs(
    renderContainerdMirrorHostsToml('\0url', '\0mirror', '$CONTAINERD_HOST_CERTS_DIR/\0upstream/ca.crt', '\0auth'),
    { url: '$MIRROR_UPSTREAM_URL', mirror: '$MIRROR_HOST', upstream: '$MIRROR_UPSTREAM', auth: '$MIRROR_AUTH' },
  );
  const authJson = printfArgs(renderMirrorAuthJson('\0mirror', '\0auth'), { mirror: '$MIRROR_HOST', auth: '$MIRROR_AUTH' });
  const conf = printfArgs(renderRegistriesConfMirror('\0upstream', '\0mirror'), { upstream: '$MIRROR_UPSTREAM', mirror: '$MIRROR_HOST' });
  return `
# the same text as renderContainerdMirrorHostsToml(): the cache first, the upstream as the fallback server
mirror_hosts_toml() {
  printf '%s\\n' \\
${toml}
}

# the same text as renderRegistriesConfMirror()
mirror_registries_conf() {
  printf '%s\\n' \\
${conf}
}

# the same text as renderMirrorAuthJson()
mirror_auth_json() {
  printf '%s\\n' \\
${authJson}
}

# valid_registry NAME: a registry as image references name it (DNS name or IPv4, optional :port)
valid_registry() {
  case "$1" in
    '' | .* | *..* | *[!a-z0-9.:-]*) return 1 ;;
  esac
  case "$1" in
    *:*) valid_host_port "$1" ;;
  esac
}

sync_mirror() {
  if ! valid_registry "$MIRROR_UPSTREAM" || ! valid_host_port "$MIRROR_HOST"; then
    log "cache settings '$MIRROR_UPSTREAM' -> '$MIRROR_HOST' are not a registry name and a host:port; nothing written for the cache"
    return 1
  fi
  case "$MIRROR_UPSTREAM_URL" in
    https://*) valid_registry "\${MIRROR_UPSTREAM_URL#https://}" || { log "MIRROR_UPSTREAM_URL '$MIRROR_UPSTREAM_URL' is not https://<registry>"; return 1; } ;;
    *) log "MIRROR_UPSTREAM_URL '$MIRROR_UPSTREAM_URL' is not https://<registry>"; return 1 ;;
  esac
  # base64 of user:password: it goes into a TOML and a JSON string as it is
  case "$MIRROR_AUTH" in
    '' | *[!A-Za-z0-9+/=]*) log "MIRROR_AUTH is empty or not base64; nothing written for the cache (it refuses pulls without it)"; return 1 ;;
  esac
  put_file "$CONTAINERD_CERTS_DIR/$MIRROR_UPSTREAM/ca.crt" cat -- "$CA_PATH" || return 1
  # the two files holding the credential are readable by root only (the runtimes run as root)
  put_private "$CONTAINERD_CERTS_DIR/$MIRROR_UPSTREAM/hosts.toml" mirror_hosts_toml || return 1
  put_file "$CONTAINERS_CERTS_DIR/$MIRROR_HOST/ca.crt" cat -- "$CA_PATH" || return 1
  put_private "$CONTAINERS_REGISTRIES_DIR/${MIRROR_AUTH_FILE}" mirror_auth_json || return 1
  put_file "$CONTAINERS_REGISTRIES_DIR/${MIRROR_DROP_IN}" mirror_registries_conf || return 1
}
`;
}

/**
 * Renders the node trust script. Run it with `sh`; with env ONCE=1 it makes one pass and exits (non-zero when
 * the CA is missing, a registry entry is not a "host:port" or a write fails), otherwise it re-checks every
 * `intervalSeconds` until SIGTERM.
 */
export function renderNodeTrustScript(opts: NodeTrustScriptOptions): string {
  validateNodeTrustScriptOptions(opts);
  const hostCertsDir = opts.containerdHostCertsDir ?? DEFAULT_CONTAINERD_HOST_CERTS_DIR;
  // A list known when rendering is written into the script; otherwise the pod's environment supplies it.
  const hostsLine = opts.registryHosts
    ? `REGISTRY_HOSTS=${shq(opts.registryHosts.join(' '))}`
    : 'REGISTRY_HOSTS=${REGISTRY_HOSTS:-}';

  return `#!/bin/sh
# Registry CA trust for container runtimes on this node. Generated by lib/node-trust/script.ts: do not edit.
# For each registry host:port it keeps, only rewriting what differs (temp file + mv, so readers never see
# a partial file):
#   containerd:      $CONTAINERD_CERTS_DIR/<host:port>/ca.crt and hosts.toml
#   CRI-O / podman:  $CONTAINERS_CERTS_DIR/<host:port>/ca.crt
# ONCE=1: one pass, then exit (init containers, tests). Otherwise: a pass every INTERVAL seconds.
set -u
set -f

CA_PATH=${shq(opts.caPath)}
CONTAINERD_CERTS_DIR=${shq(opts.containerdCertsDir)}
CONTAINERS_CERTS_DIR=${shq(opts.containersCertsDir)}
CONTAINERD_HOST_CERTS_DIR=${shq(hostCertsDir)}
INTERVAL=${opts.intervalSeconds}
# space-separated host:port entries
${hostsLine}
${mirrorSettings(opts)}
log() {
  printf '%s node-trust: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

# hosts_toml HOST:PORT: the same text as renderContainerdHostsToml(), naming the CA by its path on the node
hosts_toml() {
  printf '%s\\n' \\
${HOSTS_TOML_PRINTF_ARGS}
}

# valid_host_port ENTRY: a DNS name, IPv4 or [IPv6] address, then ':' and a port from 1 to 65535. Entries
# become directory names, so anything else (a scheme, a path, '..', quotes, spaces) is refused.
valid_host_port() {
  case "$1" in
    *:*) ;;
    *) return 1 ;;
  esac
  host=\${1%:*}
  port=\${1##*:}
  case "$host" in
    '' | .* | *..* | *[!]A-Za-z0-9.:[-]*) return 1 ;;
  esac
  case "$port" in
    '' | 0* | *[!0-9]*) return 1 ;;
  esac
  [ "\${#port}" -le 5 ] && [ "$port" -le 65535 ]
}
${mirrorFunctions(opts)}
tmp=''
cleanup() {
  if [ -n "$tmp" ]; then rm -f -- "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 0' TERM INT

# put_file DEST COMMAND...: COMMAND prints the content; DEST is replaced only when the bytes differ.
# (A command rather than a pipe: a pipeline would run put_file in a subshell and lose the change count.)
put_file() {
  dest=$1
  shift
  dir=\${dest%/*}
  mkdir -p -- "$dir" || return 1
  # same directory (same filesystem) so mv is an atomic rename; the name does not end in .crt, so a
  # runtime scanning the directory never loads a half-written file
  tmp="$dir/.\${dest##*/}.$$.tmp"
  "$@" > "$tmp" || return 1
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    rm -f -- "$tmp"
    tmp=''
    return 0
  fi
  if [ -e "$dest" ]; then action=updated; else action=created; fi
  chmod "$file_mode" "$tmp" || return 1
  mv -f -- "$tmp" "$dest" || return 1
  tmp=''
  log "$action $dest"
  changes=$((changes + 1))
}

# put_private DEST COMMAND...: put_file for a file holding a credential (mode 0600; the runtimes run as root)
file_mode=0644
put_private() {
  file_mode=0600
  put_file "$@"
  rc=$?
  file_mode=0644
  return $rc
}

sync_once() {
  changes=0
  if [ ! -s "$CA_PATH" ] || ! grep -q -e '-----BEGIN CERTIFICATE-----' "$CA_PATH"; then
    log "CA $CA_PATH is missing, empty or not a PEM certificate; nothing written"
    return 1
  fi
  if [ -z "$REGISTRY_HOSTS" ]; then
    log "no registry host:port given (REGISTRY_HOSTS is empty); nothing written"
    return 1
  fi
  # every entry is checked before anything is written: a bad list changes nothing on the node
  for hostport in $REGISTRY_HOSTS; do
    if ! valid_host_port "$hostport"; then
      log "registry entry '$hostport' is not a host:port (DNS name, IPv4 or [IPv6], port 1-65535); nothing written"
      return 1
    fi
  done
  for hostport in $REGISTRY_HOSTS; do
    put_file "$CONTAINERD_CERTS_DIR/$hostport/ca.crt" cat -- "$CA_PATH" || return 1
    put_file "$CONTAINERD_CERTS_DIR/$hostport/hosts.toml" hosts_toml "$hostport" || return 1
    put_file "$CONTAINERS_CERTS_DIR/$hostport/ca.crt" cat -- "$CA_PATH" || return 1
  done
${opts.mirror ? '  sync_mirror || return 1\n' : ''}  # said once, so a quiet log means nothing changed
  if [ "$changes" -eq 0 ] && [ "$reported" = 0 ]; then log "up to date: $REGISTRY_HOSTS"; fi
  reported=1
}
reported=0

if [ "\${ONCE:-0}" = 1 ]; then
  sync_once
  exit $?
fi
while :; do
  sync_once || log "pass failed; retrying in \${INTERVAL}s"
  # sleep in the background so TERM is handled at once (sh as PID 1 would otherwise wait out the sleep)
  sleep "$INTERVAL" &
  wait $!
done
`;
}
