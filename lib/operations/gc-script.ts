/**
 * The garbage-collection window: the POSIX `sh` script the GC CronJob's pod runs, rendered as a string so a test
 * can run the very same text with `sh` against a real registry process (and a stand-in for the Kubernetes API).
 *
 * What it does, in order, and why:
 * 1. Take the window: ONE write to the maintenance ConfigMap, conditional on its resourceVersion (a concurrent
 *    writer gets 409 Conflict and re-reads), sets `REGISTRY_STORAGE_MAINTENANCE_READONLY={enabled: true}` (the
 *    registry Deployment reads it with envFrom; the variable that stops at the section is the spelling v3.1.0
 *    applies, `..._READONLY_ENABLED` panics or is ignored) and `GC_WINDOW_OWNER=<pod> until <epoch>`. Another live
 *    window (its pod Running or Pending, its time not over) makes this one refuse; a read-only switch without owner
 *    (set by hand) too. A window whose pod died (OOM or node loss kill the trap with it) is reopened first.
 *    Why the ConfigMap and not a Lease: the switch and its owner change together in one write, nothing can hold a
 *    lock without the switch or the reverse, and the Role stays get/patch on that one named object.
 * 2. Restart the Deployment (the annotation `kubectl rollout restart` sets; the registry Deployment ignores it in
 *    Terraform) and wait until EVERY live registry pod (not Failed or Succeeded: an evicted pod stays listed) was
 *    started by that restart, is Ready and none is terminating: only then no process that accepts writes is left.
 *    Any doubt (timeout, a foreign restart, the switch or its owner changed) aborts before a single blob is deleted.
 * 3. Run `registry garbage-collect` with the registry's own config.yml and storage. Pushes now fail with
 *    `405 Method Not Allowed` (`Allow: GET, HEAD`); pulls are served, except during the two restarts, which with
 *    one replica and Recreate (host-path) are each a short full outage.
 * 4. Always (exit trap: success, GC failure, SIGTERM from the Job's deadline) first stop the GC process (KILL after
 *    GC_STOP_SECONDS), flush the Redis cache's entries of the deleted blobs when there is one, THEN switch back and
 *    clear the owner (conditional write, only while this window still owns the switch) and restart. The trap's
 *    worst case is closeWindowSeconds(); the pod's grace period is longer.
 *
 * Pure module: no cdktf import.
 */
import * as rules from '../rules';

/** The environment variable the registry reads its read-only switch from (the whole section, as YAML). */
export const READ_ONLY_ENV = 'REGISTRY_STORAGE_MAINTENANCE_READONLY';
/** Its values: a YAML mapping, because v3.1.0 needs `storage.maintenance.readonly` to be map[any]any. */
export const READ_ONLY_VALUE = { on: '{enabled: true}', off: '{enabled: false}' } as const;
/** The pod-template annotation `kubectl rollout restart` sets; the kubernetes provider ignores `*.kubernetes.io` keys. */
export const RESTART_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

/**
 * The ConfigMap key naming the window that holds the switch: `<GC pod name> until <epoch seconds>`, empty when no
 * window is open. It sits beside the switch so both change in ONE write, made conditional on the object's
 * resourceVersion (a conflict answers 409 and the write is retried from a fresh read). The registry reads it via
 * envFrom too; it is not a `REGISTRY_*` name, so distribution ignores it.
 */
export const WINDOW_OWNER_KEY = 'GC_WINDOW_OWNER';

/** Environment variables the script reads (set by the CronJob from Terraform values; by the test locally). */
export const GC_SCRIPT_ENV = {
  namespace: 'NAMESPACE',
  deployment: 'DEPLOYMENT',
  maintenanceConfigMap: 'MAINTENANCE_CONFIGMAP',
  podSelector: 'POD_SELECTOR',
  configPath: 'CONFIG_PATH',
  /** The GC pod's own name (downward API): the window's owner, and what the next window checks is still alive. */
  podName: 'POD_NAME',
} as const;

/** Environment variables of the Redis flush (only with `redisCache`). */
export const GC_REDIS_ENV = {
  /** `host:port` of each Redis node, separated by spaces. */
  addresses: 'REDIS_ADDRS',
  username: 'REDIS_USERNAME',
  /** The password as is (not JSON-encoded). */
  password: 'REDIS_PASSWORD',
  db: 'REDIS_DB',
} as const;

/** Seconds the exit trap gives the collector to stop after TERM before it is killed. */
export const GC_STOP_SECONDS = 20;
/** Seconds any one kubectl call may take (`--request-timeout`): no call can hang the trap. */
export const KUBECTL_TIMEOUT_SECONDS = 15;

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
  /**
   * Seconds after its start when a window is over for sure (the Job's deadline plus its grace period): a window
   * recorded as open for longer was left open by a pod that died, and the next window reopens the registry.
   * @default 21600 + the trap's time + 60
   */
  readonly windowSeconds?: number;
  /**
   * The registry uses Redis as its blob-descriptor cache: after GC, delete the cache's entries of every blob the
   * collector deleted (GC_REDIS_ENV; `nc` to each address), or Redis keeps answering for them.
   * @default false
   */
  readonly redisCache?: boolean;
}

/**
 * Seconds the exit trap needs at most: stop the collector, flush the cache, switch back (retried), one restart.
 * The pod's terminationGracePeriodSeconds must be longer, or the kubelet kills the trap halfway.
 */
export function closeWindowSeconds(opts: GcScriptOptions = {}): number {
  return GC_STOP_SECONDS + (opts.redisCache ? 2 * KUBECTL_TIMEOUT_SECONDS : 0) + (opts.rolloutTimeoutSeconds ?? 300) + 4 * KUBECTL_TIMEOUT_SECONDS;
}

/** Throws an Error naming the option and the value when one is not allowed. */
export function validateGcScriptOptions(opts: GcScriptOptions): void {
  if (opts.deleteUntagged !== undefined) rules.check('deleteUntagged', opts.deleteUntagged, [rules.boolean]);
  if (opts.rolloutTimeoutSeconds !== undefined) rules.check('rolloutTimeoutSeconds', opts.rolloutTimeoutSeconds, [rules.wholeNumber(10, 3600)]);
  if (opts.pollSeconds !== undefined) rules.check('pollSeconds', opts.pollSeconds, [rules.wholeNumber(1, 60)]);
  if (opts.windowSeconds !== undefined) rules.check('windowSeconds', opts.windowSeconds, [rules.wholeNumber(60, 1209600)]);
  if (opts.redisCache !== undefined) rules.check('redisCache', opts.redisCache, [rules.boolean]);
}

/** The `registry garbage-collect` arguments before the config path. */
export function gcArguments(opts: GcScriptOptions): string[] {
  return ['garbage-collect', ...(opts.deleteUntagged ? ['--delete-untagged'] : [])];
}

/** JSON for `kubectl patch --type merge`: the switch (`$2`: true|false) and the owner (`$3`), only if unchanged since `$1` (resourceVersion). */
const CONFIGMAP_PATCH = `{"metadata":{"resourceVersion":"$1"},"data":{"${READ_ONLY_ENV}":"{enabled: $2}","${WINDOW_OWNER_KEY}":"$3"}}`;
/** The ConfigMap's state as one line: resourceVersion|switch|owner. */
const CONFIGMAP_STATE_JSONPATH = `jsonpath={.metadata.resourceVersion}|{.data.${READ_ONLY_ENV}}|{.data.${WINDOW_OWNER_KEY}}`;
/** The read-back just before GC: switch|owner. */
const CONFIGMAP_READ_BACK_JSONPATH = `jsonpath={.data.${READ_ONLY_ENV}}|{.data.${WINDOW_OWNER_KEY}}`;
/** JSON for `kubectl patch` that restarts the Deployment's pods with `$1` as the restart token. */
const RESTART_PATCH = `{"spec":{"template":{"metadata":{"annotations":{"${RESTART_ANNOTATION}":"$1"}}}}}`;
/**
 * Pods that may still run: Failed and Succeeded ones (evicted for DiskPressure, for example) never serve again and
 * stay listed until someone deletes them, so they are left out of every count.
 */
export const LIVE_PODS_FIELD_SELECTOR = 'status.phase!=Failed,status.phase!=Succeeded';
/** One line per registry pod: restart token | deletion timestamp | Ready status. */
const POD_STATE_JSONPATH =
  `{range .items[*]}{.metadata.annotations.${RESTART_ANNOTATION.replace(/\./g, '\\.')}}{"|"}{.metadata.deletionTimestamp}{"|"}` +
  '{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}';

/** sh double-quoted text (the JSON templates keep `$1` live). */
const dq = (s: string): string => `"${s.replace(/(["\\`])/g, '\\$1')}"`;
/** sh single-quoted text. */
const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The Redis flush, as sh functions. distribution's redis blob-descriptor cache (registry/storage/cache/redis/
 * redis.go, the same keys in 2.8 and v3.1.0) keeps a hash `blobs::<digest>` per blob, a hash
 * `repository::<repo>::blobs::<digest>` (media type per repository) and a set `repository::<repo>::blobs`. Deleting
 * `blobs::<digest>` alone already turns a lookup into a miss (the repository lookup reads it too); the repository
 * entries of the repositories GC listed are removed as well. Exactly these keys: never FLUSHDB or a pattern (the
 * Redis may be shared). Commands go as RESP arrays through `nc` (busybox, in the registry image); TLS is not
 * possible this way (refused at synth). With several addresses every one is asked: a cluster node answers MOVED
 * for a key it does not own, which is fine as long as every master is listed.
 */
const REDIS_FLUSH = `
# resp ARG...: one Redis command as a RESP array
resp() {
  printf '*%d\\r\\n' "$#"
  for a in "$@"; do printf '$%d\\r\\n%s\\r\\n' "$(printf '%s' "$a" | wc -c)" "$a"; done
}

# flush_cache DELETED MARKED: delete the cache entries of every blob the collector deleted (its log lines name them)
flush_cache() {
  digests=$(sed -n 's/^.*blob eligible for deletion: \\(sha256:[0-9a-f]\\{64\\}\\).*$/\\1/p' "$1" | sort -u)
  [ -n "$digests" ] || { log "redis: no blob deleted, nothing to flush"; return 0; }
  repos=$(sed -n 's/^\\([a-z0-9][a-z0-9._/-]*\\): marking manifest .*$/\\1/p' "$2" 2>/dev/null | sort -u)
  : > "$WORK/redis.in"
  if [ -n "$REDIS_PASSWORD" ]; then
    if [ -n "$REDIS_USERNAME" ]; then resp AUTH "$REDIS_USERNAME" "$REDIS_PASSWORD"; else resp AUTH "$REDIS_PASSWORD"; fi >> "$WORK/redis.in"
  fi
  resp SELECT "$REDIS_DB" >> "$WORK/redis.in"
  n=0
  for d in $digests; do
    resp DEL "blobs::$d" >> "$WORK/redis.in"
    for r in $repos; do
      resp SREM "repository::$r::blobs" "$d" >> "$WORK/redis.in"
      resp DEL "repository::$r::blobs::$d" >> "$WORK/redis.in"
    done
    n=$((n + 1))
  done
  resp QUIT >> "$WORK/redis.in"
  failed=0
  for addr in $REDIS_ADDRS; do
    port=$(printf '%s' "$addr" | sed 's/^.*://')
    host=$(printf '%s' "$addr" | sed 's/:[0-9]*$//; s/^\\[//; s/\\]$//')
    if ! nc -w ${KUBECTL_TIMEOUT_SECONDS} "$host" "$port" < "$WORK/redis.in" > "$WORK/redis.out" 2>&1; then
      log "redis $addr: no connection"
      failed=1
      continue
    fi
    if grep -v -e '^-MOVED ' -e '^-ASK ' "$WORK/redis.out" | grep -q '^-'; then
      log "redis $addr: $(grep -v -e '^-MOVED ' -e '^-ASK ' "$WORK/redis.out" | grep '^-' | head -n 1 | tr -d '\\r')"
      failed=1
    fi
  done
  if [ "$failed" = 0 ]; then
    log "redis: flushed the cache entries of $n deleted blobs"
  else
    log "redis: the cache may still answer for deleted blobs; delete blobs::<digest> for the digests above by hand"
  fi
  return "$failed"
}
`;

/**
 * Renders the GC window script. `kubectl` and `registry` are found on PATH (the pod puts a copied kubectl first);
 * the namespace, Deployment, ConfigMap, pod selector, config path and the pod's name come from the environment
 * (GC_SCRIPT_ENV; with `redisCache` also GC_REDIS_ENV). Exit status: the garbage collector's, or 1 when the window
 * could not be opened (another one is open), flushed or closed.
 */
export function renderGcScript(opts: GcScriptOptions = {}): string {
  validateGcScriptOptions(opts);
  const timeout = opts.rolloutTimeoutSeconds ?? 300;
  const poll = opts.pollSeconds ?? 2;
  const windowSeconds = opts.windowSeconds ?? 21600 + closeWindowSeconds(opts) + 60;
  const env = GC_SCRIPT_ENV;
  const redis = GC_REDIS_ENV;
  return `#!/bin/sh
# Registry garbage collection in a read-only window. Generated by lib/operations/gc-script.ts: do not edit.
set -u
NAMESPACE=\${${env.namespace}:?}
DEPLOYMENT=\${${env.deployment}:?}
MAINTENANCE_CONFIGMAP=\${${env.maintenanceConfigMap}:?}
POD_SELECTOR=\${${env.podSelector}:?}
CONFIG_PATH=\${${env.configPath}:?}
ME=\${${env.podName}:?}
${opts.redisCache ? `REDIS_ADDRS=\${${redis.addresses}:?}
REDIS_USERNAME=\${${redis.username}:-}
REDIS_PASSWORD=\${${redis.password}:-}
REDIS_DB=\${${redis.db}:-0}
` : ''}GC_ARGS=${sq(gcArguments(opts).join(' '))}
ROLLOUT_TIMEOUT=${timeout}
POLL=${poll}
WINDOW_SECONDS=${windowSeconds}
CLOSE_SECONDS=$(( ${closeWindowSeconds(opts)} - ${GC_STOP_SECONDS} ))
WORK=$(mktemp -d)

log() {
  printf '%s gc: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

k() {
  kubectl --namespace "$NAMESPACE" --request-timeout=${KUBECTL_TIMEOUT_SECONDS}s "$@"
}

# read_state: sets rv, setting (the switch) and owner from the ConfigMap
read_state() {
  state=$(k get configmap "$MAINTENANCE_CONFIGMAP" -o ${sq(CONFIGMAP_STATE_JSONPATH)}) || return 1
  rv=\${state%%|*}
  rest=\${state#*|}
  setting=\${rest%%|*}
  owner=\${rest#*|}
}

# write_state RV true|false OWNER: one conditional write; fails on a conflict (someone wrote since RV)
write_state() {
  k patch configmap "$MAINTENANCE_CONFIGMAP" --type merge -p ${dq(CONFIGMAP_PATCH)} >/dev/null
}

# alive OWNER: the owner's window may still be running (its pod runs or waits, and its time is not over)
alive() {
  until=\${1##* }
  case "$until" in ''|*[!0-9]*) until=0 ;; esac
  [ "$(date +%s)" -lt "$until" ] || return 1
  [ -n "$(k get pods --field-selector "metadata.name=\${1%% *},${LIVE_PODS_FIELD_SELECTOR}" -o name)" ]
}

# restart TOKEN DEADLINE: restarts the registry's pods and returns once every live pod of the registry was started
# by this restart, is Ready, and no other live pod is left (terminating ones count): then no pod runs the old
# setting. Failed and Succeeded pods are not counted (LIVE_PODS_FIELD_SELECTOR).
restart() {
  k patch deployment "$DEPLOYMENT" -p ${dq(RESTART_PATCH)} >/dev/null || return 1
  while :; do
    want=$(k get deployment "$DEPLOYMENT" -o 'jsonpath={.spec.replicas}') || want=''
    pods=$(k get pods -l "$POD_SELECTOR" --field-selector ${sq(LIVE_PODS_FIELD_SELECTOR)} -o ${sq(`jsonpath=${POD_STATE_JSONPATH}`)}) || pods='?'
    total=$(printf '%s\\n' "$pods" | grep -c .)
    ready=$(printf '%s\\n' "$pods" | grep -c -x -F "$1||True")
    if [ -n "$want" ] && [ "$total" = "$want" ] && [ "$ready" = "$want" ]; then
      return 0
    fi
    if [ "$(date +%s)" -ge "$2" ]; then
      log "restart $1: $ready of $want pods ready in time ($total live pods of the registry)"
      return 1
    fi
    sleep "$POLL"
  done
}
${opts.redisCache ? REDIS_FLUSH : ''}
# open_window: takes the window (switch read-only, owner me) in one conditional write. Refuses when another live
# window holds it, or when the registry was made read-only by hand; first reopens one a dead window left open.
open_window() {
  tries=0
  while :; do
    read_state || { log "cannot read $MAINTENANCE_CONFIGMAP"; return 1; }
    if [ -n "$owner" ] && [ "$owner" != "$mine" ]; then
      if alive "$owner"; then
        log "another window is open ($owner): not starting; the registry stays as that window leaves it"
        return 1
      fi
      log "the window of $owner was left open (its pod is gone or its time is over): reopening the registry first"
      if write_state "$rv" false '' && restart "$token-reopened" $(( $(date +%s) + ROLLOUT_TIMEOUT )); then
        log "registry is read-write again (left open by $owner)"
        continue
      fi
    elif [ "$setting" = '${READ_ONLY_VALUE.on}' ]; then
      log "the registry is read-only and no window owns it (set by hand?): not starting; set $MAINTENANCE_CONFIGMAP back to {enabled: false} to allow windows"
      return 1
    else
      # Set before the write: the trap releases only what this window owns, so a write that failed is harmless.
      window_open=1
      write_state "$rv" true "$mine" 2>"$WORK/write.err" && return 0
      cat "$WORK/write.err" >&2
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 5 ]; then
      log "could not take the window after $tries attempts"
      return 1
    fi
    # a conflict means another writer just won: read again at once; anything else waits a little
    grep -q '(Conflict)' "$WORK/write.err" 2>/dev/null || sleep "$POLL"
    rm -f "$WORK/write.err"
  done
}

# release_window DEADLINE: switches back and clears the owner, only while this window still owns the switch
release_window() {
  while :; do
    if read_state; then
      if [ "$owner" != "$mine" ]; then
        log "the window now belongs to \${owner:-nobody}: leaving the switch as it is"
        return 2
      fi
      write_state "$rv" false '' && return 0
    fi
    if [ "$(date +%s)" -ge "$1" ]; then
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
    # a collector that ignores TERM is killed after ${GC_STOP_SECONDS}s (the trap's time is bounded)
    (
      trap 'kill "$s" 2>/dev/null; exit 0' TERM
      sleep ${GC_STOP_SECONDS} &
      s=$!
      wait "$s" && kill -KILL "$gc_pid" 2>/dev/null
    ) >/dev/null 2>&1 &
    killer=$!
    wait "$gc_pid"
    kill "$killer" 2>/dev/null
  fi
  if [ "$window_open" = 1 ]; then
    deadline=$(( $(date +%s) + CLOSE_SECONDS ))
${opts.redisCache ? `    if [ -s "$WORK/gc.deleted" ] && ! flush_cache "$WORK/gc.deleted" "$WORK/gc.marked"; then
      status=1
    fi
` : ''}    release_window "$deadline"
    released=$?
    if [ "$released" = 1 ]; then
      log "FAILED to return the registry to read-write: it stays read-only (pushes fail) until the next window reopens it."
      log "Leave the window by hand: kubectl -n $NAMESPACE patch configmap $MAINTENANCE_CONFIGMAP --type merge -p '{\\"data\\":{\\"${READ_ONLY_ENV}\\":\\"{enabled: false}\\",\\"${WINDOW_OWNER_KEY}\\":\\"\\"}}' && kubectl -n $NAMESPACE rollout restart deployment/$DEPLOYMENT"
      exit 1
    fi
    if [ "$released" = 0 ]; then
      if restart "$token-read-write" "$deadline" || restart "$token-read-write-again" "$deadline"; then
        log "registry is read-write again"
      else
        log "$MAINTENANCE_CONFIGMAP says read-write, but the registry did not restart in time: kubectl -n $NAMESPACE rollout restart deployment/$DEPLOYMENT"
        status=1
      fi
    fi
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap close_window EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

token="gc-$(date -u +%Y%m%dT%H%M%SZ)"
# The owner record: this pod, and when its window is over for sure (the Job's deadline and grace period).
mine="$ME until $(( $(date +%s) + WINDOW_SECONDS ))"
log "opening the read-only window: $DEPLOYMENT in $NAMESPACE ($mine)"
if ! open_window; then
  log "nothing collected"
  exit 1
fi
# From here on, whatever happens, the exit trap puts read-write back (if this window still owns the switch).
if ! restart "$token-read-only" $(( $(date +%s) + ROLLOUT_TIMEOUT )); then
  log "the registry did not restart read-only; nothing collected"
  exit 1
fi
if [ "$(k get configmap "$MAINTENANCE_CONFIGMAP" -o ${sq(CONFIGMAP_READ_BACK_JSONPATH)})" != "${READ_ONLY_VALUE.on}|$mine" ]; then
  log "$MAINTENANCE_CONFIGMAP no longer says read-only for this window; nothing collected"
  exit 1
fi
# One replica with Recreate (host-path): each of the two restarts was a short full outage; pulls work in between.
log "registry is read-only (pushes refused; pulls served between the restarts): registry $GC_ARGS $CONFIG_PATH"
started=$(date +%s)
# In the background: a TERM reaches the trap at once instead of after the collector.
${opts.redisCache ? `# Its output goes to the log through a FIFO; sed also keeps the lines naming deleted blobs and marked manifests'
# repositories (what the cache flush needs, far less than the whole output).
mkfifo "$WORK/gc.fifo"
sed -n -e p -e "/blob eligible for deletion: /w $WORK/gc.deleted" -e "/: marking manifest /w $WORK/gc.marked" < "$WORK/gc.fifo" &
registry $GC_ARGS "$CONFIG_PATH" > "$WORK/gc.fifo" 2>&1 &` : 'registry $GC_ARGS "$CONFIG_PATH" &'}
gc_pid=$!
wait "$gc_pid"
gc_status=$?
gc_pid=''
wait
log "garbage-collect exited with $gc_status after $(( $(date +%s) - started ))s"
exit "$gc_status"
`;
}
