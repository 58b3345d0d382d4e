/**
 * `npm run bench`: synth, test-suite, registry data-path (filesystem and S3) and registry-check start-up timings
 * measured in one run on this machine, printed as one table and written with the machine's description to BENCHMARKS.md.
 *   --sections synth,floor,tests,terraform,data,s3,check,auth   (default: all)   --runs N (default 5)   --suite-runs N (default 3)
 *   --no-write                           print only, leave BENCHMARKS.md alone
 *   --sections files --files a.test.ts,b.test.ts [--baseline <git ref>] [--suite]
 *                                        test files one at a time (wall and CPU), each beside the same file at the
 *                                        baseline ref, interleaved; --suite adds the whole `npx jest` of both trees
 *                                        (scripts/bench/test-files.ts; not in the default sections)
 * Every process it starts is stopped by PID and every temp dir removed, also on failure or Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Cleanup, tempDir, withCleanup } from '../harness/programs';
import { CHECK_OLD, CHECK_SHIPPED, HELP_OLD, HELP_SHIPPED, measureCheckStartup } from './bench/check-startup';
import { DataRow, LAYER_MIB, measureDataPath } from './bench/data-path';
import { hasGnuTime, loadAverage, runMany, Sample, stats, stopCurrentChild } from './bench/measure';
import { writeTemplateCopy } from './bench/template-baseline';
import { measureS3Path, S3_PULL_REDIRECT, S3_PULL_STREAMED } from './bench/s3-path';
import { measureTerraform } from './bench/terraform-lifecycle';
import { measureTestFiles } from './bench/test-files';
import { authTable, measureAuth } from './bench/auth';

const ROOT = path.resolve(__dirname, '..');

interface Row {
  readonly group: string;
  readonly name: string;
  readonly samples: Sample[];
  /** Bytes moved per run: the row shows throughput. */
  readonly bytes?: number;
  /** Proxied data-path runs: nginx's own CPU time per run. */
  readonly proxyCpuMs?: number[];
  /** S3 pulls: the registries' own CPU time per run. */
  readonly registryCpuMs?: number[];
}

const ms = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${(v / 1000).toFixed(2)} s`);
const mibps = (bytes: number, wallMs: number) => (bytes / (1 << 20)) / (wallMs / 1000);

function formatRow(row: Row): string[] {
  const wall = stats(row.samples.map((s) => s.wallMs));
  const cpu = row.samples.every((s) => s.cpuMs !== undefined) ? stats(row.samples.map((s) => s.cpuMs!)) : undefined;
  const rss = row.samples.every((s) => s.maxRssKb !== undefined) ? stats(row.samples.map((s) => s.maxRssKb! / 1024)) : undefined;
  const time = `${ms(wall.median)} (${ms(wall.min)}–${ms(wall.max)})`;
  const throughput = row.bytes === undefined ? '' : `${mibps(row.bytes, wall.median).toFixed(0)} MiB/s (${mibps(row.bytes, wall.max).toFixed(0)}–${mibps(row.bytes, wall.min).toFixed(0)})`;
  return [row.name, String(row.samples.length), time, throughput, cpu ? ms(cpu.median) : 'n/a', rss ? `${rss.median.toFixed(0)} MB (max ${rss.max.toFixed(0)})` : 'n/a'];
}

function table(rows: Row[]): string {
  const header = ['measurement', 'runs', 'wall: median (min–max)', 'throughput: median (min–max)', 'CPU median', 'peak RSS: median'];
  const lines = [header, header.map(() => '---'), ...rows.map(formatRow)];
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function machine(): string[] {
  const cpus = os.cpus();
  const npm = execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim();
  return [
    `CPU: ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores (os.cpus)`,
    `memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `kernel: ${os.type()} ${os.release()} (${os.arch()})`,
    `node ${process.version}, npm ${npm}`,
  ];
}

/** What nginx itself spent relaying each proxied case: the proxy's cost apart from the machine's contention. */
function proxyCpu(rows: Row[]): string[] {
  const proxied = rows.filter((r) => r.proxyCpuMs?.length);
  if (proxied.length === 0) return [];
  const cases = proxied.map((r) => {
    const cpu = stats(r.proxyCpuMs!);
    const share = cpu.median / median(r)!;
    return `${r.name.replace(/, nginx stream$/, '')}: ${ms(cpu.median)} (${(share * 100).toFixed(0)}% of one core over the run)`;
  });
  return ['', `nginx stream's own CPU per proxied run (master + worker, median): ${cases.join('; ')}.`];
}

function median(row: Row | undefined, pick: (s: Sample) => number | undefined = (s) => s.wallMs): number | undefined {
  if (!row || row.samples.some((s) => pick(s) === undefined)) return undefined;
  return stats(row.samples.map((s) => pick(s)!)).median;
}

/** Each target with its measured value; `undefined` when its section did not run. */
/** The slowest test files of a jest `--json` report, as lines for the result. */
function longestTestFiles(reportPath: string): string[] {
  const report = JSON.parse(fs.readFileSync(reportPath, 'utf8')) as { testResults: Array<{ name: string; startTime: number; endTime: number }> };
  const files = report.testResults
    .map((r) => ({ file: path.relative(ROOT, r.name), ms: r.endTime - r.startTime }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 8);
  return ['', 'Longest test files (last suite run, wall time of each file; files run two at a time):', ...files.map((f) => `- ${f.file}: ${ms(f.ms)}`)];
}

function targets(rows: Row[]): string[] {
  const find = (name: string) => rows.find((r) => r.name === name);
  const synth = find(SYNTH);
  const baseline = find(BASELINE);
  const out: string[] = [];
  const check = (label: string, ok: boolean | undefined, detail: string) => {
    if (ok !== undefined) out.push(`- ${ok ? 'met' : 'NOT met'}: ${label} (${detail})`);
  };
  const synthWall = median(synth);
  const synthRss = median(synth, (s) => (s.maxRssKb === undefined ? undefined : s.maxRssKb / 1024));
  const baselineWall = median(baseline);
  check('synth ≤ 1.0 s median', synthWall === undefined ? undefined : synthWall <= 1000, synthWall === undefined ? '' : ms(synthWall));
  check('synth ≤ 150 MB peak RSS', synthRss === undefined ? undefined : synthRss <= 150, `${synthRss?.toFixed(0)} MB`);
  if (synthWall !== undefined && baselineWall !== undefined) {
    check('synth ≥ 10x faster than the template way', baselineWall / synthWall >= 10, `${(baselineWall / synthWall).toFixed(1)}x`);
  }
  const unit = median(find(UNIT));
  check('unit tests ≤ 10 s', unit === undefined ? undefined : unit <= 10_000, unit === undefined ? '' : ms(unit));
  const suite = median(find(SUITE));
  check('npm test ≤ 60 s', suite === undefined ? undefined : suite <= 60_000, suite === undefined ? '' : ms(suite));
  for (const action of ['push', 'pull']) {
    for (const client of ['registry-check', 'skopeo']) {
      const direct = median(find(`${action} ${LAYER_MIB} MiB, ${client}, direct`));
      const proxied = median(find(`${action} ${LAYER_MIB} MiB, ${client}, nginx stream`));
      if (direct !== undefined && proxied !== undefined) {
        const cost = 1 - direct / proxied;
        check(`L4 proxy costs ≤ 10% of direct throughput (${action}, ${client})`, cost <= 0.1, `${(cost * 100).toFixed(1)}%`);
      }
    }
    const ours = median(find(`${action} ${LAYER_MIB} MiB, registry-check, direct`));
    const theirs = median(find(`${action} ${LAYER_MIB} MiB, skopeo, direct`));
    if (ours !== undefined && theirs !== undefined) {
      check(`registry-check ${action === 'push' ? 'pushes' : 'pulls'} at least as fast as skopeo`, ours <= theirs, `${ms(ours)} vs ${ms(theirs)}`);
    }
  }
  const help = median(find(HELP_SHIPPED));
  const helpOld = median(find(HELP_OLD));
  check('registry-check --help ≤ 0.3 s (shipped)', help === undefined ? undefined : help <= 300, help === undefined ? '' : `${ms(help)}; old way ${helpOld === undefined ? 'n/a' : ms(helpOld)}`);
  const whole = median(find(CHECK_SHIPPED));
  const wholeOld = median(find(CHECK_OLD));
  if (whole !== undefined && wholeOld !== undefined) {
    check('registry-check whole check no slower shipped than the old way', whole <= wholeOld, `${ms(whole)} vs ${ms(wholeOld)}`);
  }
  const perGiB = (row: Row | undefined) => (row?.registryCpuMs?.length ? stats(row.registryCpuMs).median / ((row.bytes ?? 0) / 2 ** 30) : undefined);
  const redirected = perGiB(find(S3_PULL_REDIRECT));
  const streamed = perGiB(find(S3_PULL_STREAMED));
  if (redirected !== undefined && streamed !== undefined) {
    check('with S3 redirects the registry spends ≤ 10% of the CPU it spends streaming a pull', redirected <= 0.1 * streamed,
      `${(redirected / streamed * 100).toFixed(1)}%`);
  }
  return out;
}

/** The registries' CPU per pulled GiB on S3, redirect on and off (the rows' medians). */
function registryCpu(rows: Row[]): string[] {
  const cases = rows.filter((r) => r.registryCpuMs?.length).map((r) => {
    const perGiB = stats(r.registryCpuMs!).median / ((r.bytes ?? 0) / 2 ** 30);
    return `${r.name}: ${ms(perGiB)} per GiB`;
  });
  return cases.length === 0 ? [] : ['', `Registry CPU per pulled GiB on S3 (every replica's, median): ${cases.join('; ')}.`];
}

const SYNTH = 'synth, as cdktf.json runs it (hook cache warm)';
const SYNTH_COLD_CACHE = 'synth, as cdktf.json runs it, empty hook cache';
const BASELINE = 'synth, template way (type-checking ts-node-like hook, root-index provider imports)';
const UNIT = 'npx jest specs (unit: every *.spec.ts)';
const SUITE = 'npm test (tsc --noEmit + all jest suites)';

async function measureSynth(cleanup: Cleanup, runs: number, rows: Row[], log: (l: string) => void): Promise<void> {
  const app = (JSON.parse(fs.readFileSync(path.join(ROOT, 'cdktf.json'), 'utf8')) as { app: string }).app.split(/\s+/);
  const work = await tempDir(cleanup, 'registry-bench-synth-');
  const cacheDir = path.join(work, 'swc-cache');
  const outdir = path.join(work, 'cdktf.out');
  const env = { REGISTER_TS_CACHE_DIR: cacheDir, CDKTF_OUTDIR: outdir };
  await runMany(1, app[0], app.slice(1), { cwd: ROOT, env }); // fills the cache
  rows.push({ group: 'synth', name: SYNTH, samples: await runMany(runs, app[0], app.slice(1), { cwd: ROOT, env }) });
  log(`  ${SYNTH} done`);
  const emptyCache = () => fs.rmSync(cacheDir, { recursive: true, force: true });
  rows.push({ group: 'synth', name: SYNTH_COLD_CACHE, samples: await runMany(runs, app[0], app.slice(1), { cwd: ROOT, env, before: emptyCache }) });
  log(`  ${SYNTH_COLD_CACHE} done`);
  const template = path.join(work, 'template');
  fs.mkdirSync(template);
  writeTemplateCopy(ROOT, template);
  const hook = path.join(ROOT, 'scripts/bench/ts-check-register.js');
  const baseline = await runMany(runs, 'node', ['--require', hook, 'main.ts'], { cwd: template, env: { CDKTF_OUTDIR: path.join(template, 'cdktf.out') } });
  rows.push({ group: 'synth', name: BASELINE, samples: baseline });
  log(`  ${BASELINE} done`);
  // Both ways must produce the same Terraform, or the comparison means nothing.
  for (const stack of fs.readdirSync(path.join(outdir, 'stacks'))) {
    const ours = fs.readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8');
    const theirs = fs.readFileSync(path.join(template, 'cdktf.out', 'stacks', stack, 'cdk.tf.json'), 'utf8');
    if (ours !== theirs) throw new Error(`the template-way copy synthesized a different ${stack}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sections: { type: 'string', default: 'synth,floor,tests,terraform,data,s3,check,auth' },
      runs: { type: 'string', default: '5' },
      'suite-runs': { type: 'string', default: '3' },
      'no-write': { type: 'boolean', default: false },
      files: { type: 'string', default: '' },
      baseline: { type: 'string' },
      suite: { type: 'boolean', default: false },
    },
  });
  const sections = new Set(values.sections!.split(','));
  const runs = Number(values.runs);
  const suiteRuns = Number(values['suite-runs']);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const loadBefore = loadAverage();
  const started = Date.now();
  log(`bench: load average ${loadBefore}${hasGnuTime ? '' : ' (no /usr/bin/time: CPU and RSS columns are n/a; apt-get install time)'}`);

  const rows: Row[] = [];
  const longest: string[] = [];
  const auth: string[] = [];
  // Ctrl-C / SIGTERM: kill the measured child's process group; its failure then unwinds through withCleanup.
  const onSignal = (signal: NodeJS.Signals) => {
    log(`bench: ${signal}, stopping`);
    process.exitCode = 130;
    stopCurrentChild();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  await withCleanup(async (cleanup) => {
    if (sections.has('synth')) {
      log('bench: synth');
      await measureSynth(cleanup, runs, rows, log);
    }
    if (sections.has('floor')) {
      log('bench: floor');
      rows.push({ group: 'floor', name: 'node -e 0', samples: await runMany(runs, 'node', ['-e', '0'], { cwd: ROOT }) });
      rows.push({ group: 'floor', name: `node -e "require('cdktf')"`, samples: await runMany(runs, 'node', ['-e', "require('cdktf')"], { cwd: ROOT }) });
    }
    if (sections.has('tests')) {
      log('bench: tests');
      rows.push({ group: 'tests', name: UNIT, samples: await runMany(runs, 'npx', ['jest', 'specs'], { cwd: ROOT }) });
      log(`  ${UNIT} done`);
      // jest's own report of the last run gives each file's duration
      const report = path.join(await tempDir(cleanup, 'bench-jest-'), 'report.json');
      rows.push({ group: 'tests', name: SUITE, samples: await runMany(suiteRuns, 'npm', ['test', '--', '--json', `--outputFile=${report}`], { cwd: ROOT }) });
      longest.push(...longestTestFiles(report));
      log(`  ${SUITE} done`);
    }
    if (sections.has('terraform')) {
      log('bench: terraform on the stand-in providers');
      rows.push(...(await measureTerraform(cleanup, runs, log)).map((r) => ({ group: 'terraform', ...r })));
    }
    if (sections.has('data')) {
      log('bench: data path');
      const data: DataRow[] = await measureDataPath(cleanup, ROOT, runs, log);
      rows.push(...data.map((d) => ({ group: 'data', name: d.name, samples: d.samples, bytes: LAYER_MIB << 20, proxyCpuMs: d.proxyCpuMs })));
    }
    if (sections.has('check')) {
      log('bench: registry-check start-up');
      rows.push(...(await measureCheckStartup(cleanup, ROOT, runs, log)).map((r) => ({ group: 'check', ...r })));
    }
    if (sections.has('files')) {
      const files = values.files!.split(',').filter(Boolean);
      log(`bench: test files${values.baseline ? ` beside ${values.baseline}` : ''}`);
      rows.push(...(await measureTestFiles(cleanup, ROOT, files, values.baseline, runs, values.suite!, log)).map((r) => ({ group: 'files', ...r })));
    }
    if (sections.has('auth')) {
      log('bench: auth CPU, htpasswd in the registry against the front');
      auth.push('', 'Authentication, registry side (one run each, side by side):', '', ...authTable(await measureAuth(cleanup, log)));
    }
    if (sections.has('s3')) {
      log('bench: S3 data path');
      const s3 = await measureS3Path(cleanup, ROOT, runs, log);
      rows.push(...s3.map((d) => ({ group: 's3', name: d.name, samples: d.samples, bytes: LAYER_MIB << 20, registryCpuMs: d.registryCpuMs })));
    }
  });

  const loadAfter = loadAverage();
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const result = [
    ...(rows.length > 0 ? [table(rows), ''] : []),
    ...targets(rows),
    ...proxyCpu(rows),
    ...registryCpu(rows),
    ...longest,
    ...auth,
    '',
    `Load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAfter}. Bench took ${minutes} min.`,
  ].join('\n');
  process.stdout.write(`${result}\n`);
  if (!values['no-write']) {
    fs.writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), benchmarksMd(result, new Date()));
    log('bench: wrote BENCHMARKS.md');
  }
}

function benchmarksMd(result: string, date: Date): string {
  return `# Benchmarks

Measured by \`npm run bench\` (\`scripts/bench.ts\`) on ${date.toISOString().slice(0, 10)}; every row in the same run on
the same machine. Reproduce with:

\`\`\`console
npm ci && npm run bench    # ~10 min on 2 cores; options after --: --sections synth,floor,tests,terraform,data,s3,check,auth --runs N --suite-runs N --no-write
\`\`\`

It needs what the tests need (\`.ci/run\` installs it: docker-registry, nginx with the stream module, skopeo,
openssl, apache2-utils) and GNU time (\`/usr/bin/time\`, Debian package \`time\`) for the CPU and peak-RSS columns.

## Machine

${machine().map((l) => `- ${l}`).join('\n')}

Other work may have been running: the load average at the start and end of the run is below the table. Wall times on
a loaded machine are noisier than CPU times.

## Results

${result}

## What the rows measure

- **synth, as cdktf.json runs it**: a new process running the \`app\` command from \`cdktf.json\`
  (\`node --require ./scripts/register-ts.js main.ts\`), which synthesizes every stack (\`cdktf synth\`/\`deploy\`
  always run the app once for all stacks). "hook cache warm" is every run after the first (the hook keeps swc's
  output by content hash, and cdktf's and the providers' JavaScript without inline source maps, under
  \`node_modules/.cache/register-ts\`; here in a temp dir); "empty hook cache" is the first run after a clone.
- **template way**: the same sources as the cdktf TypeScript template would run them: a temp copy with provider
  imports rewritten to the root index (\`@cdktf/provider-kubernetes\` instead of \`.../lib/secret-v1\`), run by
  \`scripts/bench/ts-check-register.js\`, which does what \`ts-node\` does by default (a TypeScript LanguageService
  over the project's tsconfig.json; each required file is emitted and its syntactic and semantic diagnostics
  checked). ts-node itself is not a dependency. The bench checks both ways synthesize identical \`cdk.tf.json\`.
- **floor**: Node's start-up, and loading \`cdktf\` alone.
- **tests**: \`npx jest specs\` (the unit tests: every \`*.spec.ts\`, which synthesize stacks and read them) and
  the whole \`npm test\` (\`tsc --noEmit\` and every jest suite, including the end-to-end ones that start real
  registries), with jest's cache warm.
- **push/pull ${LAYER_MIB} MiB**: one random ${LAYER_MIB} MiB layer in a one-layer image, on a real registry (distribution,
  TLS, htpasswd/bcrypt auth, filesystem storage) on loopback, direct or through an nginx \`stream\` proxy (the
  stand-in for ingress-nginx tcp-services). registry-check is the library (\`pushImage\`: streamed upload, digest
  computed while sending; \`pullBlob\` into files, digests verified) in a child process, so its peak RSS is its own;
  skopeo copies a \`dir:\` image holding the same layer and pulls to \`dir:\`. Each push goes to a new repository so
  no client can skip the upload. Throughput is ${LAYER_MIB} MiB over the whole process time (start-up included).
  Cases run interleaved (one run of each per round), so load changes hit them alike.
- **registry-check --help / whole check**: the CLI as a new process, \`--help\` and all 8 steps against a real
  registry on loopback (TLS, htpasswd at bcrypt cost 4, so the steps take ~0.2 s and start-up shows). "shipped" is
  \`bin/registry-check.js\` running \`dist/\` (\`npm run build:check\`, the \`prepare\` script \`npm ci\` runs; the bench
  builds it first); "old way" is how the bin started before, the TypeScript sources through the swc require hook
  (\`scripts/bench/registry-check-ts.js\`), with its cache warm or empty (the first run after a clone). The npx and
  \`npm run -s\` rows are the launchers docs/verify-and-check.md names, both running the shipped CLI: npx spends about a second of
  its own (npm reads the installed tree to find the command), whatever the CLI does.
- **S3 rows**: the registry-example-s3 stack as synthesized, as its end-to-end test runs it (Ceph RGW on memstore,
  Redis, distribution 2.8.2 replicas, nginx stream holding two of them), the same 256 MiB layer pushed and pulled by
  registry-check. "two replicas" goes through nginx, which spreads the connections of one transfer over both.
  "redirect" pulls follow the registry's 307 to a presigned radosgw URL; "redirect off" is a replica with
  \`s3_disable_redirect = true\` streaming every byte itself. The registry CPU per pulled GiB adds up every replica's
  CPU time (from /proc) over each pull. memstore holds objects in RAM: each push's objects are deleted before the next.
- **Authentication**: the same workloads against three registry sides started by the bench: distribution with
  TLS and htpasswd at cost 10 (every generated user's hash before the front), the dev stack's pod as synthesized
  (the front's nginx.conf and the grants file Terraform renders, distribution behind it on loopback, generated users
  at cost 4) and distribution with TLS and no auth (the floor). 1,000 blob requests (HEAD and GET alternating over 8
  connections) by the pull credential, and 32 one-layer images pushed at once by a push user. "Registry-side CPU"
  is the registry's and nginx's user+system time from \`/proc\` over the workload; "auth CPU" subtracts the floor's,
  so the front's TLS and proxying count against it too. Note that distribution 2.8.2 checks bcrypt under one lock
  (requests queue); v3 does not, so with cost 10 the wall time there is lower but the CPU the same.
- **nginx stream's own CPU**: the nginx master's and worker's CPU time from \`/proc\`, read before and after each
  proxied run. Here the client, nginx and the registry share the machine's cores, so what nginx spends shows up as
  wall time of the proxied rows; in a cluster the controller relays on its own node. How much nginx spends depends
  on how the client sends. Relaying a 128 MiB push, nginx's worker went to sleep and woke ~2,700–3,900 times for
  skopeo against ~100–120 for registry-check (voluntary context switches in \`/proc/<pid>/status\`, 3 runs each),
  with ~11,000 writes against ~8,300 (\`syscw\` in \`/proc/<pid>/io\`): skopeo sends in short bursts that nginx
  drains and then waits for, and each wake-up is paid on the same two cores the client and the registry use.
  Raising nginx's \`proxy_buffer_size\` from the 16k default (which ingress-nginx keeps) to 256k changed neither
  nginx's CPU nor the wall times.

## What makes it fast (each measured on its own while it was built, CPU time under load 2–4)

- **swc output cached by content hash** (\`scripts/register-ts.js\`): an unchanged file never loads @swc/core's native
  binding: synth −35 MB RSS and ~0.2 s (compare the two synth rows above).
- **cdktf's and the providers' JavaScript read without its inline source maps** (same hook): jsii ships every
  file with a base64 source map, 70% of the provider bindings' bytes (the Deployment and DaemonSet bindings are
  4.8 MB each). The hook keeps a copy without it under its cache, keyed by path, size and mtime: synth
  ~0.9 → ~0.7 s and 130 → 90 MB. Node reads those maps only with \`--enable-source-maps\`.
- **archiver loaded lazily** (same hook, and a jest mock of cdktf's own copy in \`__tests__/setup/cdktf.ts\`): cdktf
  requires it (and ~200 modules with it) at start-up but only uses it in a child process that zips assets:
  \`require('cdktf')\` 379 → 176 modules, ~0.1 s and 7 MB less; under jest ~0.2 s per test file.
- **no creation stack traces under jest** (\`__tests__/setup/cdktf.ts\`): cdktf records one per token and jest
  source-maps each: ~40% of a synth test.
- **the synth-only tests are one jest file** (\`__tests__/specs.test.ts\` runs every \`*.spec.ts\`): jest loads
  cdktf and the provider bindings (0.6–0.9 s of CPU in each module registry) once instead of 16 times:
  those tests 12.5 → 6 CPU-s.
- **bcrypt where it is not the subject**: distribution 2.8 checks the password of every request under one lock
  (~65 ms of CPU at the stack's cost 10). The 16-client concurrency test authenticates as an extra load user at
  cost 4, and the node pull test's stand-in hashes are cost 4; every other end-to-end test uses cost 10: the
  registry end-to-end file 24 → 12.6 CPU-s.
- **the adopted ingress-nginx release's import block written directly** instead of \`importFrom\`, whose validation
  runs \`terraform version\` on every synth: ~0.25 s CPU (the same \`cdk.tf.json\` apart from cdktf's own metadata).
- **jest with one worker per core** (the default is one worker on 2 cores): all suites 58 → 46 s.
- **registry-check uploads a layer in one streamed PATCH** (chunked only with \`--chunk-size\`): the registry checks
  the bcrypt password once instead of once per 5 MiB chunk: 256 MiB push ~9.6 s → ~2.5 s, no chunk in memory.
- **registry-check reads and hashes 1 MiB ahead** while the socket waits for the registry (Node's defaults are
  64 KiB reads and a 16 KiB transform): 256 MiB push 1.33 → 0.93 s of CPU and 2.59 → 2.28 s, peak RSS unchanged.
- **the empty-cache synth cuts the inline map off the bytes before decoding them**: a slice of the decoded text
  kept each whole file alive with its module's source: 146 → 117 MB on the first synth after a clone.
- **registry-check runs compiled JavaScript** (\`dist/\`, built by \`npm ci\`): no compiler and no hook cache at start.
- **terraform attaches to the stand-in providers** (harness/providers \`attachedEnv\`, TF_REATTACH_PROVIDERS) instead
  of launching them per command; \`init\` and drift plans still launch: a plan ~1.1 → ~0.6 CPU-s (2026-12-03).
- **only the lifecycle's second plan refreshes**, and a no-change second plan needs no \`show -json\`: lifecycle/stacks
  66 → 43 CPU-s run alone (2026-12-03).
- **a stack synthesized once per process and environment** (harness/synth.ts): the specs 33 → 12 CPU-s (2026-12-03).
- Tried and not kept: a V8 code cache for every module (~0.1 s CPU, +11 MB RSS, wall time within the noise),
  \`--max-semi-space-size\` (no clear effect), a jest runtime compiling modules without a dynamic-import hook so V8
  could reuse compiled scripts across test files (no gain: module bodies, not compiling, take the time), more jest
  workers than cores. Synthesizing only some stacks (an env var) was not added: \`cdktf synth/deploy\` run the app
  once for all stacks, so it would never apply there.
`;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
