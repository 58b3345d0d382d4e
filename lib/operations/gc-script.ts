/**
 * The garbage-collection window: the POSIX `sh` script the GC CronJob's pod runs, rendered as a string so a test
 * can run the very same text with `sh` against a real registry process (and a stand-in for the Kubernetes API).
 *
 * What it does, in order, and why:
 * 1. Flip the registry's maintenance ConfigMap to `REGISTRY_STORAGE_MAINTENANCE_READONLY={enabled: true}` (the
 *    registry Deployment reads it with envFrom; the variable that stops at the section is the spelling v3.1.0
 *    applies, `..._READONLY_ENABLED` panics or is ignored) and restart the Deployment (the annotation
 *    `kubectl rollout restart` sets, which Terraform does not track).
 * 2. Wait until EVERY registry pod was started by that restart, is Ready and none is terminating: only then no
 *    process that accepts writes is left. Any doubt (timeout, a foreign restart, the ConfigMap flipped back by
 *    someone) aborts before a single blob is deleted.
 * 3. Run `registry garbage-collect` with the registry's own config.yml and storage. Pushes now fail with
 *    `405 Method Not Allowed` (`Allow: GET, HEAD`); pulls are served.
 * 4. Always (exit trap: success, GC failure, SIGTERM from the Job's deadline) first stop and wait for the GC
 *    process, THEN flip the ConfigMap back and restart: the registry never takes writes while GC still deletes.
 *
 * A pod killed with SIGKILL (node loss) leaves the registry read-only: data-safe; the docs say how to leave.
 * Pure module: no cdktf import.
 */
import * as rules from '../rules';

/** The environment variable the registry reads its read-only switch from (the whole section, as YAML). */
export const READ_ONLY_ENV = 'REGISTRY_STORAGE_MAINTENANCE_READONLY';
/** Its values: a YAML mapping, because v3.1.0 needs `storage.maintenance.readonly` to be map[any]any. */
export const READ_ONLY_VALUE = { on: '{enabled: true}', off: '{enabled: false}' } as const;
/** The pod-template annotation `kubectl rollout restart` sets; the kubernetes provider ignores `*.kubernetes.io` keys. */
export const RESTART_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

/** Environment variables the script reads (set by the CronJob from Terraform values; by the test locally). */
export const GC_SCRIPT_ENV = {
  namespace: 'NAMESPACE',
  deployment: 'DEPLOYMENT',
  maintenanceConfigMap: 'MAINTENANCE_CONFIGMAP',
  podSelector: 'POD_SELECTOR',
  configPath: 'CONFIG_PATH',
} as const;

export interface GcScriptOptions {
  /**
   * Pass `--delete-untagged`: manifests no tag points at are deleted too. distribution 2.8 also deleted the
   * platform manifests of a tagged multi-arch index that way (issues #3178, #4939); 3.1.0 keeps them.
   * @default false
   */
  readonly deleteUntagged?: boolean;
  /**
   * Seconds to wait for each restart (into and out of the window) before giving up.
   * @default 300
   */
  readonly rolloutTimeoutSeconds?: number;
  /**
   * Seconds between checks of the rollout.
   * @default 2
   */
  readonly pollSeconds?: number;
}

/** Throws an Error naming the option and the value when one is not allowed. */
export function validateGcScriptOptions(opts: GcScriptOptions): void {
  if (opts.deleteUntagged !== undefined) rules.check('deleteUntagged', opts.deleteUntagged, [rules.boolean]);
  if (opts.rolloutTimeoutSeconds !== undefined) rules.check('rolloutTimeoutSeconds', opts.rolloutTimeoutSeconds, [rules.wholeNumber(10, 3600)]);
  if (opts.pollSeconds !== undefined) rules.check('pollSeconds', opts.pollSeconds, [rules.wholeNumber(1, 60)]);
}

/** The `registry garbage-collect` arguments before the config path. */
export function gcArguments(opts: GcScriptOptions): string[] {
  return ['garbage-collect', ...(opts.deleteUntagged ? ['--delete-untagged'] : [])];
}

/** JSON for `kubectl patch --type merge` that sets the read-only switch (`$1` is true or false). */
const CONFIGMAP_PATCH = `{"data":{"${READ_ONLY_ENV}":"{enabled: $1}"}}`;
/** JSON for `kubectl patch` that restarts the Deployment's pods with `$1` as the restart token. */
const RESTART_PATCH = `{"spec":{"template":{"metadata":{"annotations":{"${RESTART_ANNOTATION}":"$1"}}}}}`;
/** One line per registry pod: restart token | deletion timestamp | Ready status. */
const POD_STATE_JSONPATH =
  `{range .items[*]}{.metadata.annotations.${RESTART_ANNOTATION.replace(/\./g, '\\.')}}{"|"}{.metadata.deletionTimestamp}{"|"}` +
  '{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}';

/** sh double-quoted text (the JSON templates keep `$1` live). */
const dq = (s: string): string => `"${s.replace(/(["\\`])/g, '\\$1')}"`;
/** sh single-quoted text. */
const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Renders the GC window script. `kubectl` and `registry` are found on PATH (the pod puts a copied kubectl first);
 * the namespace, Deployment, ConfigMap, pod selector and config path come from the environment (GC_SCRIPT_ENV).
 * Exit status: the garbage collector's, or 1 when the window could not be opened or closed.
 */
export function renderGcScript(opts: GcScriptOptions = {}): string {
  validateGcScriptOptions(opts);
  const timeout = opts.rolloutTimeoutSeconds ?? 300;
  const poll = opts.pollSeconds ?? 2;
  const env = GC_SCRIPT_ENV;
  return `#!/bin/sh
# Registry garbage collection in a read-only window. Generated by lib/operations/gc-script.ts: do not edit.
set -u
NAMESPACE=\${${env.namespace}:?}
DEPLOYMENT=\${${env.deployment}:?}
MAINTENANCE_CONFIGMAP=\${${env.maintenanceConfigMap}:?}
POD_SELECTOR=\${${env.podSelector}:?}
CONFIG_PATH=\${${env.configPath}:?}
GC_ARGS=${sq(gcArguments(opts).join(' '))}
ROLLOUT_TIMEOUT=${timeout}
POLL=${poll}

log() {
  printf '%s gc: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

k() {
  kubectl --namespace "$NAMESPACE" "$@"
}

# set_read_only true|false: the switch the registry reads when its container starts
set_read_only() {
  k patch configmap "$MAINTENANCE_CONFIGMAP" --type merge -p ${dq(CONFIGMAP_PATCH)} >/dev/null
}

read_only_setting() {
  k get configmap "$MAINTENANCE_CONFIGMAP" -o 'jsonpath={.data.${READ_ONLY_ENV}}'
}

# restart TOKEN: restarts the registry's pods and returns once every pod of the registry was started by this
# restart, is Ready, and no other pod of it is left (terminating ones count): then no pod runs the old setting.
restart() {
  k patch deployment "$DEPLOYMENT" -p ${dq(RESTART_PATCH)} >/dev/null || return 1
  deadline=$(( $(date +%s) + ROLLOUT_TIMEOUT ))
  while :; do
    want=$(k get deployment "$DEPLOYMENT" -o 'jsonpath={.spec.replicas}') || want=''
    pods=$(k get pods -l "$POD_SELECTOR" -o ${sq(`jsonpath=${POD_STATE_JSONPATH}`)}) || pods='?'
    total=$(printf '%s\\n' "$pods" | grep -c .)
    ready=$(printf '%s\\n' "$pods" | grep -c -x -F "$1||True")
    if [ -n "$want" ] && [ "$total" = "$want" ] && [ "$ready" = "$want" ]; then
      return 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "restart $1: $ready of $want pods ready after \${ROLLOUT_TIMEOUT}s ($total pods of the registry)"
      return 1
    fi
    sleep "$POLL"
  done
}

window_open=0
gc_pid=''
close_window() {
  status=$?
  trap '' TERM INT
  if [ -n "$gc_pid" ] && kill -0 "$gc_pid" 2>/dev/null; then
    log "stopping garbage-collect (pid $gc_pid) before the registry takes writes again"
    kill -TERM "$gc_pid" 2>/dev/null
    wait "$gc_pid"
  fi
  if [ "$window_open" = 1 ]; then
    tries=0
    until set_read_only false && restart "$token-read-write"; do
      tries=$((tries + 1))
      if [ "$tries" -ge 3 ]; then
        log "FAILED to return the registry to read-write: it stays read-only (pulls work, pushes fail)."
        log "Leave the window by hand: kubectl -n $NAMESPACE patch configmap $MAINTENANCE_CONFIGMAP --type merge -p '{\\"data\\":{\\"${READ_ONLY_ENV}\\":\\"{enabled: false}\\"}}' && kubectl -n $NAMESPACE rollout restart deployment/$DEPLOYMENT"
        exit 1
      fi
      sleep "$POLL"
    done
    log "registry is read-write again"
  fi
  exit "$status"
}
trap close_window EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

token="gc-$(date -u +%Y%m%dT%H%M%SZ)"
log "opening the read-only window: $DEPLOYMENT in $NAMESPACE"
# Set before the first change: whatever happens from here on, the exit trap puts read-write back.
window_open=1
if ! set_read_only true; then
  log "could not set $MAINTENANCE_CONFIGMAP to read-only; nothing collected"
  exit 1
fi
if ! restart "$token-read-only"; then
  log "the registry did not restart read-only; nothing collected"
  exit 1
fi
if [ "$(read_only_setting)" != '${READ_ONLY_VALUE.on}' ]; then
  log "$MAINTENANCE_CONFIGMAP no longer says read-only; nothing collected"
  exit 1
fi
log "registry is read-only (pushes refused, pulls served): registry $GC_ARGS $CONFIG_PATH"
started=$(date +%s)
# In the background: a TERM reaches the trap at once instead of after the collector.
registry $GC_ARGS "$CONFIG_PATH" &
gc_pid=$!
wait "$gc_pid"
gc_status=$?
gc_pid=''
log "garbage-collect exited with $gc_status after $(( $(date +%s) - started ))s"
exit "$gc_status"
`;
}
