/**
 * A stand-in for the Kubernetes API and kubelet behind the garbage-collection window script: the script's `kubectl`
 * is a stub on PATH that forwards its arguments to this process, which keeps the maintenance ConfigMap, the
 * registry Deployment's restart token and its "pods", and restarts the REAL registry process (Recreate: the old one
 * stops before the new one starts) with the ConfigMap's keys in its environment, as envFrom does. Only the exact
 * commands the script issues are understood; anything else fails, so a new kubectl call must be added here (and to
 * the synthesized Role, which `calls` lets a test check).
 */
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Cleanup } from './cleanup';

/** One kubectl call as RBAC sees it. */
export interface KubeCall {
  readonly verb: 'get' | 'patch' | 'list';
  readonly resource: 'configmaps' | 'deployments' | 'pods';
  readonly name?: string;
  readonly namespace: string;
  readonly args: readonly string[];
}

export interface FakePod {
  token: string;
  deleting: boolean;
  ready: boolean;
  /** Failed or Succeeded pods stay listed until deleted (an eviction leaves one behind). @default "Running" */
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  /** @default a name from the token */
  name?: string;
}

/** Phases a field selector sees. */
type Phase = NonNullable<FakePod['phase']>;

export interface GcClusterOptions {
  readonly namespace: string;
  readonly deployment: string;
  readonly maintenanceConfigMap: string;
  readonly podSelector: string;
  /** The ConfigMap's data as synthesized. */
  readonly maintenanceData: Record<string, string>;
  /** Stops the running registry. */
  readonly stopRegistry: () => Promise<void>;
  /** Starts the registry with these extra environment variables (the ConfigMap's keys). */
  readonly startRegistry: (env: Record<string, string>) => Promise<void>;
  /** Awaited before answering the script's read-back of the ConfigMap (the last call before GC starts). */
  readonly beforeReadBack?: () => Promise<void>;
}

export interface GcCluster {
  /** Directory holding the `kubectl` stub: put it first on the script's PATH. */
  readonly binDir: string;
  readonly calls: KubeCall[];
  readonly configMap: Record<string, string>;
  /** The ConfigMap's resourceVersion: every write bumps it; a patch naming another one is refused (409). */
  resourceVersion: number;
  /** Conflicts answered (a patch carried a stale resourceVersion). */
  readonly conflicts: string[];
  pods: FakePod[];
  /** Pods of GC windows by name (the script's POD_NAME) and phase: what `kubectl get pods --field-selector metadata.name=` sees. */
  readonly windowPods: Map<string, Phase>;
  /**
   * Answer a restart only once the new pod is Ready (the script's wait loop then passes at once; faster tests).
   * When false the restart runs after the answer and the script sees the old pod terminating, then the new one
   * not ready yet.
   */
  restartBeforeAnswer: boolean;
  /**
   * Hold this many reads of the ConfigMap's resourceVersion until all of them arrived (or 5 s passed), then answer
   * them alike: windows started together then race for the same version and all but one get the 409.
   */
  readBarrier: number;
  /** Restarts the registry as a rollout does (for a test's own clean-up); resolves when the new pod is Ready. */
  restartRegistry(token: string): Promise<void>;
  /** Milliseconds since the epoch of every restart request and of every restart that completed. */
  readonly restarts: Array<{ token: string; requested: number; ready?: number }>;
}

/**
 * The stub: POSTs its argv (NUL-separated) with curl, prints the answer's body as stdout and its `x-stderr` header
 * (base64) as stderr, exits with its `x-status` header. A few small programs rather than a node start per call: the
 * script issues a dozen calls per window, and a busy machine makes each node start cost much more.
 */
const STUB = `#!/bin/sh
h=$(mktemp)
printf '%s\\0' "$@" | curl -sS -D "$h" --data-binary @- -H 'content-type: application/octet-stream' "$FAKE_KUBE_URL" || { rm -f "$h"; echo "fake kubectl: no answer" >&2; exit 1; }
status=$(sed -n 's/^x-status: *\\([0-9]*\\).*$/\\1/p' "$h")
sed -n 's/^x-stderr: *//p' "$h" | tr -d '\\r' | base64 -d >&2
rm -f "$h"
exit "\${status:-1}"
`;

const RESTART_ANNOTATION_PATH = /^\{"spec":\{"template":\{"metadata":\{"annotations":\{"kubectl\.kubernetes\.io\/restartedAt":"([^"]+)"\}\}\}\}\}$/;

/** Starts the fake API; `env` for the script must carry FAKE_KUBE_URL (returned in `urlEnv`). */
export async function startGcCluster(cleanup: Cleanup, dir: string, options: GcClusterOptions): Promise<GcCluster & { urlEnv: Record<string, string> }> {
  const binDir = path.join(dir, 'bin');
  await fs.mkdir(binDir, { recursive: true });
  await fs.writeFile(path.join(binDir, 'kubectl'), STUB, { mode: 0o755 });
  const cluster: GcCluster = {
    binDir,
    calls: [],
    configMap: { ...options.maintenanceData },
    resourceVersion: 1,
    conflicts: [],
    pods: [{ token: '', deleting: false, ready: true }],
    windowPods: new Map(),
    restarts: [],
    restartBeforeAnswer: false,
    readBarrier: 0,
    restartRegistry: async (token: string) => {
      restart(token);
      await rollout;
    },
  };
  let waiting: Array<() => void> = [];
  const barrier = async () => {
    if (cluster.readBarrier <= 1) return;
    const released = new Promise<void>((resolve) => waiting.push(resolve));
    if (waiting.length >= cluster.readBarrier) {
      cluster.readBarrier = 0;
      const all = waiting;
      waiting = [];
      all.forEach((r) => r());
    } else {
      setTimeout(() => { cluster.readBarrier = 0; const all = waiting; waiting = []; all.forEach((r) => r()); }, 5_000).unref();
    }
    await released;
  };
  let rollout: Promise<void> = Promise.resolve();

  const restart = (token: string) => {
    const entry: { token: string; requested: number; ready?: number } = { token, requested: Date.now() };
    cluster.restarts.push(entry);
    rollout = rollout.then(async () => {
      // Failed and Succeeded pods are not touched by a rollout: they stay until someone deletes them.
      const finished = () => cluster.pods.filter((p) => p.phase === 'Failed' || p.phase === 'Succeeded');
      cluster.pods = cluster.pods.map((p) => (finished().includes(p) ? p : { ...p, deleting: true }));
      await options.stopRegistry();
      cluster.pods = [...finished(), { token, deleting: false, ready: false, phase: 'Pending' }];
      await options.startRegistry({ ...cluster.configMap });
      cluster.pods = [...finished(), { token, deleting: false, ready: true, phase: 'Running' }];
      entry.ready = Date.now();
    });
  };

  /** A field selector as the API server evaluates it for pods: `field=value` / `field!=value`, comma = AND. */
  const fieldSelector = (selector: string) => {
    const terms = selector.split(',').map((term) => {
      const m = /^(metadata\.name|status\.phase)(!=|==|=)(.*)$/.exec(term);
      if (!m) throw new Error(`unsupported field selector ${term}`);
      return { field: m[1], negate: m[2] === '!=', value: m[3] };
    });
    return (pod: { name: string; phase: Phase }) =>
      terms.every((t) => ((t.field === 'metadata.name' ? pod.name : pod.phase) === t.value) !== t.negate);
  };
  /** A jsonpath of `{.metadata.resourceVersion}` and `{.data.KEY}` parts joined by literal text. */
  const configMapJsonPath = (expr: string): string | undefined => {
    if (!expr.startsWith('jsonpath=')) return undefined;
    let failed = false;
    const out = expr.slice('jsonpath='.length).replace(/\{([^}]*)\}/g, (_, path: string) => {
      if (path === '.metadata.resourceVersion') return String(cluster.resourceVersion);
      const key = /^\.data\.([A-Z_]+)$/.exec(path)?.[1];
      if (!key) failed = true;
      return key ? cluster.configMap[key] ?? '' : '';
    });
    return failed ? undefined : out;
  };

  const handle = async (argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> => {
    const fail = (why: string) => ({ status: 1, stdout: '', stderr: `fake kubectl: ${why}: ${argv.join(' ')}\n` });
    if (argv[0] !== '--namespace') return fail('no --namespace');
    const namespace = argv[1];
    if (namespace !== options.namespace) return fail(`namespace ${namespace}`);
    const args = argv.slice(/^--request-timeout=\d+s$/.test(argv[2]) ? 3 : 2);
    const call = (verb: KubeCall['verb'], resource: KubeCall['resource'], name?: string) =>
      cluster.calls.push({ verb, resource, name, namespace, args });
    const [verb, kind, name] = args;
    if (verb === 'patch' && kind === 'configmap' && args[3] === '--type' && args[4] === 'merge' && args[5] === '-p' && args.length === 7) {
      call('patch', 'configmaps', name);
      if (name !== options.maintenanceConfigMap) return fail('no such configmap');
      const patch = JSON.parse(args[6]) as { metadata?: { resourceVersion?: string }; data: Record<string, string> };
      const precondition = patch.metadata?.resourceVersion;
      if (precondition !== undefined && precondition !== String(cluster.resourceVersion)) {
        // What kubectl prints for the API server's 409 Conflict, with its exit status.
        cluster.conflicts.push(args[6]);
        return {
          status: 1,
          stdout: '',
          stderr: `Error from server (Conflict): Operation cannot be fulfilled on configmaps "${name}": the object has been modified; please apply your changes to the latest version and try again\n`,
        };
      }
      Object.assign(cluster.configMap, patch.data);
      cluster.resourceVersion += 1;
      return { status: 0, stdout: `configmap/${name} patched\n`, stderr: '' };
    }
    if (verb === 'get' && kind === 'configmap' && args[3] === '-o' && args.length === 5) {
      call('get', 'configmaps', name);
      if (name !== options.maintenanceConfigMap) return fail('no such configmap');
      // The read-back just before GC is the one read without the resourceVersion.
      if (!args[4].includes('resourceVersion')) await options.beforeReadBack?.();
      else await barrier();
      const stdout = configMapJsonPath(args[4]);
      if (stdout === undefined) return fail('unsupported get configmap');
      return { status: 0, stdout, stderr: '' };
    }
    if (verb === 'patch' && kind === 'deployment' && args[3] === '-p' && args.length === 5) {
      call('patch', 'deployments', name);
      const token = RESTART_ANNOTATION_PATH.exec(args[4])?.[1];
      if (name !== options.deployment || !token) return fail('unsupported patch deployment');
      restart(token);
      if (cluster.restartBeforeAnswer) await rollout;
      return { status: 0, stdout: `deployment.apps/${name} patched\n`, stderr: '' };
    }
    if (verb === 'get' && kind === 'deployment' && args[3] === '-o' && args[4] === 'jsonpath={.spec.replicas}' && args.length === 5) {
      call('get', 'deployments', name);
      if (name !== options.deployment) return fail('no such deployment');
      return { status: 0, stdout: '1', stderr: '' };
    }
    const podList = args[2] === '-l' && args[4] === '--field-selector' && args[6] === '-o' && args.length === 8
      ? { selector: args[3], fields: args[5], output: args[7] }
      : args[2] === '-l' && args[4] === '-o' && args.length === 6 ? { selector: args[3], fields: '', output: args[5] } : undefined;
    if (verb === 'get' && kind === 'pods' && podList) {
      call('list', 'pods');
      if (podList.selector !== options.podSelector) return fail(`selector ${podList.selector}`);
      const expected = 'jsonpath={range .items[*]}{.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}{"|"}{.metadata.deletionTimestamp}{"|"}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}';
      if (podList.output !== expected) return fail('unsupported pod jsonpath');
      const selected = podList.fields ? fieldSelector(podList.fields) : () => true;
      const stdout = cluster.pods
        .filter((p) => selected({ name: p.name ?? `registry-${p.token}`, phase: p.phase ?? 'Running' }))
        .map((p) => `${p.token}|${p.deleting ? '2026-01-01T00:00:00Z' : ''}|${p.ready ? 'True' : 'False'}\n`).join('');
      return { status: 0, stdout, stderr: '' };
    }
    if (verb === 'get' && kind === 'pods' && args[2] === '--field-selector' && args[3].startsWith('metadata.name=') && args[4] === '-o' && args[5] === 'name' && args.length === 6) {
      call('list', 'pods');
      const selected = fieldSelector(args[3]);
      const stdout = [...cluster.windowPods].filter(([n, phase]) => selected({ name: n, phase })).map(([n]) => `pod/${n}\n`).join('');
      return { status: 0, stdout, stderr: '' };
    }
    return fail('unsupported command');
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const argv = Buffer.concat(chunks).toString('utf8').split('\0');
      argv.pop(); // after the last NUL
      handle(argv)
        .catch((err: Error) => ({ status: 1, stdout: '', stderr: `fake kubectl: ${err.message}\n` }))
        .then((answer) => {
          res.setHeader('x-status', String(answer.status));
          res.setHeader('x-stderr', Buffer.from(answer.stderr).toString('base64'));
          res.end(answer.stdout);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(async () => {
    await rollout.catch(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return Object.assign(cluster, { urlEnv: { FAKE_KUBE_URL: `http://127.0.0.1:${port}/` } });
}
