/**
 * The renewal half of the cert-manager mode, for a TLS terminator in the registry pod (nginx): cert-manager renews
 * the Secret, the kubelet writes the new files into the pod's Secret volume (an atomic swap of the volume's `..data`
 * link, so certificate and key change together), and this loop notices and reloads nginx. nginx's reload is
 * graceful: new workers take new connections with the new certificate, old workers finish the requests they hold.
 *
 * Worst case from renewal to the new certificate served: the kubelet's sync period (`syncFrequency`, 1 min by
 * default) plus its Secret cache's propagation delay (seconds with the default `Watch` change detection strategy; the
 * cache TTL, 1 min by default, with `Cache`), plus `intervalSeconds`: about 1 min + interval on a default kubelet. A
 * cert-manager renewal happens a third of the lifetime before expiry (30 days for a 90-day ACME certificate), so the
 * delay is far inside the margin. A volume mounted with `subPath` is never updated: mount the Secret as a directory.
 *
 * Pure module: no cdktf import. The script is POSIX sh (busybox, dash) and uses `cksum` (POSIX) to compare.
 */

export interface ReloadWatcherOptions {
  /** The mounted files to watch (certificate and key). */
  readonly files: readonly string[];
  /** Seconds between two comparisons. */
  readonly intervalSeconds: number;
  /** Checks the configuration with the new files before a reload. @default "nginx -t -q" */
  readonly testCommand?: string;
  /** Reloads the server. @default "nginx -s reload" */
  readonly reloadCommand?: string;
}

/** A file path the script can hold in single quotes (no quote, no newline). */
const SAFE_PATH = /^\/[A-Za-z0-9._\/-]+$/;

/** The watcher: a POSIX sh script that runs forever. Throws on a path or interval it cannot hold safely. */
export function reloadWatcherScript(options: ReloadWatcherOptions): string {
  if (options.files.length === 0) throw new Error('reloadWatcherScript files: [] is not allowed; expected at least one absolute path');
  for (const file of options.files) {
    if (!SAFE_PATH.test(file)) throw new Error(`reloadWatcherScript files: ${JSON.stringify(file)} is not allowed; expected an absolute path of letters, digits, '.', '_', '-' and '/'`);
  }
  if (!Number.isInteger(options.intervalSeconds) || options.intervalSeconds < 1 || options.intervalSeconds > 3600) {
    throw new Error(`reloadWatcherScript intervalSeconds: ${options.intervalSeconds} is not allowed; expected a whole number from 1 to 3600`);
  }
  const files = options.files.map((f) => `'${f}'`).join(' ');
  return `#!/bin/sh
# Reloads the TLS terminator when its mounted certificate changes (private-registry-stack, lib/certificates/reload-watcher.ts).
set -u
state() { cat ${files} 2>/dev/null | cksum; }
last=$(state)
while :; do
  sleep ${options.intervalSeconds}
  now=$(state)
  [ "$now" = "$last" ] && continue
  if ${options.testCommand ?? 'nginx -t -q'}; then
    if ${options.reloadCommand ?? 'nginx -s reload'}; then
      echo "certificate changed: reloaded"
      last=$now
    else
      echo "certificate changed: reload failed; trying again in ${options.intervalSeconds} s" >&2
    fi
  else
    echo "certificate changed but the configuration test fails: the running certificate stays; trying again in ${options.intervalSeconds} s" >&2
  fi
done
`;
}
