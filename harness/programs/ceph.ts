/**
 * A real S3 endpoint for the tests: Ceph RADOS Gateway on a throwaway single-node Ceph cluster (Debian's ceph-mon,
 * ceph-osd, radosgw, ceph-common; Ceph 16.2). One monitor, one OSD on memstore (objects in the OSD's RAM, nothing on a
 * block device), one radosgw with its beast frontend on 127.0.0.1. Every daemon is a child process in the foreground,
 * stopped by PID; config, monitor store, sockets, pid files and logs all live under the caller's directory, and
 * every address is on 127.0.0.1 (the OSD's messenger ports come from Ceph's own 6800-7300 range, bound there too).
 *
 * It starts in about a second on an idle 2-core machine (1-2 s under load; `startSteps` says where the time went).
 * What makes it that fast, and usable:
 *  - cephx off (`auth * required = none`) with `ms * mode = crc secure`: with auth off and the default modes
 *    radosgw waits out its 300 s mount timeout.
 *  - all radosgw pools created before the OSD and radosgw start (one `ceph` CLI session): radosgw otherwise
 *    creates them one by one, and each new pool waits about a second for the OSD to hear of its map and create
 *    the placement group.
 *  - paxos intervals of milliseconds, pools of size 1 and one placement group, objecter tick of 100 ms.
 *  - beast's `tcp_nodelay=1`: without it every S3 request the registry makes costs a 40 ms delayed-ACK round.
 *  - `public addr`/`cluster addr` 127.0.0.1: without them the OSD listens on 0.0.0.0.
 *  - `mon cluster log file` under the directory: the monitor writes /var/log/ceph/ceph{,.audit}.log otherwise.
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { Cleanup } from './cleanup';
import { freePort, waitFor } from './net';
import { RunningProcess, spawnLogged } from './process';

/** Pools radosgw 16.2 opens for the default zone (`default.rgw.buckets.non-ec` holds multipart upload state). */
const RGW_POOLS = [
  '.rgw.root', 'default.rgw.log', 'default.rgw.control', 'default.rgw.meta',
  'default.rgw.buckets.index', 'default.rgw.buckets.data', 'default.rgw.buckets.non-ec',
];

export interface CephS3 {
  /** `http://127.0.0.1:<port>`: radosgw's S3 API, path-style bucket addressing. */
  readonly endpoint: string;
  readonly port: number;
  /** Any region name works with radosgw; this is the one requests are signed for. */
  readonly region: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** The cluster's directory (ceph.conf, monitor store, logs `<name>.log` and `<name>.out.log`). */
  readonly dir: string;
  /** Milliseconds from the first command to a bucket-ready S3 endpoint (user created). */
  readonly startMs: number;
  /** Milliseconds from the first command to the end of each start-up step (monitor, pools, radosgw, user). */
  readonly startSteps: Record<string, number>;
  /** PUT /<bucket>, signed. */
  createBucket(name: string): Promise<void>;
  /** Gives the S3 user another key pair (radosgw-admin: any characters, for keys that YAML would misread). */
  addKey(accessKey: string, secretKey: string): Promise<void>;
  /** Every object under `prefix` in `bucket` (ListObjectsV2, all pages). */
  listObjects(bucket: string, prefix?: string): Promise<Array<{ key: string; size: number }>>;
  /** A signed S3 request (SigV4, unsigned payload) to radosgw with the user's keys (or another `secretKey`). */
  request(method: string, pathAndQuery: string, options?: { body?: Buffer; secretKey?: string }): Promise<{ status: number; body: string }>;
  /**
   * Requests radosgw has served so far, from its log (beast's access lines), oldest first. The log is written by a
   * background thread: a request answered a moment ago may not be there yet.
   */
  requests(): Array<{ user: string; method: string; path: string; status: number }>;
  /** PIDs of the daemons. */
  readonly pids: Record<'mon' | 'osd' | 'rgw', number>;
  /** Resident memory (kB, from /proc) of each daemon, for reports. */
  memoryKb(): Record<'mon' | 'osd' | 'rgw', number | undefined>;
  /** The tails of every daemon log, for failure messages. */
  logTails(lines?: number): string;
  /** SIGKILL to radosgw, OSD and monitor (by PID), waiting until each has exited. Also runs on cleanup. */
  stop(): Promise<void>;
}

export interface StartCephOptions {
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default 20000: first run on a cold page cache is slower than the usual ~1 s. */
  readonly readyTimeoutMs?: number;
  /**
   * Room of the memstore OSD, in MiB (RAM it may use). At 100% the OSD stops taking writes ("full status failsafe").
   * @default 1024 (Ceph's own default)
   */
  readonly memstoreMiB?: number;
  /**
   * Run radosgw's garbage collector every second: the data of deleted objects (and of a finished multipart upload's
   * source after a copy) is only freed by it. Off, a long run of pushes fills the memstore.
   * @default false
   */
  readonly garbageCollection?: boolean;
}

/** Runs a short-lived command (a Ceph tool) with optional stdin; rejects with its output on failure or timeout. */
function run(command: string, args: string[], { input, timeoutMs = 20_000 }: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')}: ${signal ? `killed by ${signal} (timeout ${timeoutMs} ms?)` : `exit ${code}`}\n${output}`));
    });
    child.stdin.end(input ?? '');
  });
}

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number, { memstoreMiB = 1024, garbageCollection = false }: StartCephOptions = {}): string {
  // `$cluster`/`$name` are Ceph's own metavariables, expanded per daemon.
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
ms mon service mode = crc secure
ms mon cluster mode = crc secure
ms client mode = crc secure
ms service mode = crc secure
ms cluster mode = crc secure
keyring = ${dir}/keyring
run dir = ${dir}/run
admin socket = ${dir}/run/$cluster-$name.asok
pid file = ${dir}/run/$name.pid
log file = ${dir}/$name.log
log to stderr = false
err to stderr = true
crash dir = ${dir}/crash
mon cluster log file = default=${dir}/$cluster.$channel.log cluster=${dir}/$cluster.log
client mount timeout = 15
objecter tick interval = 0.1
paxos propose interval = 0.01
paxos min wait = 0.001
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0

[mon.a]
mon data = ${dir}/mon

[osd.0]
osd data = ${dir}/osd
osd journal = ${dir}/osd/journal
osd objectstore = memstore
memstore device bytes = ${memstoreMiB * 1024 * 1024}

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
rgw data = ${dir}/rgw
rgw enable apis = s3
rgw thread pool size = 64
rgw enable gc threads = ${garbageCollection}
rgw gc obj min wait = 0
rgw gc processor period = 1
rgw gc processor max time = 1
rgw enable lc threads = false
rgw enable quota threads = false
`;
}

const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** SigV4 headers for an S3 request with an unsigned payload (what radosgw wants from curl --aws-sigv4 too). */
export function signS3(
  { method, host, pathname, query, region, accessKey, secretKey, now = new Date() }:
  { method: string; host: string; pathname: string; query: URLSearchParams; region: string; accessKey: string; secretKey: string; now?: Date },
): Record<string, string> {
  const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/s3/aws4_request`;
  const headers: Record<string, string> = { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': amzDate };
  const signed = Object.keys(headers).sort();
  const canonicalQuery = [...query].map(([k, v]) => `${enc(k)}=${enc(v)}`).sort().join('&');
  const canonical = [method, pathname, canonicalQuery, ...signed.map((h) => `${h}:${headers[h]}`), '', signed.join(';'), 'UNSIGNED-PAYLOAD'].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretKey}`, day), region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}` };
}

function plainRequest(url: URL, method: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url}: no answer in 10 s`)));
    req.end(body);
  });
}

function rssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** `127.0.0.1:6800`-style text for a /proc/net/tcp{,6} address (`0100007F:1A90`). */
function procAddress(hex: string): string {
  const [ip, port] = hex.split(':');
  const p = parseInt(port, 16);
  if (ip.length === 8) return `${[3, 2, 1, 0].map((i) => parseInt(ip.slice(i * 2, i * 2 + 2), 16)).join('.')}:${p}`;
  if (/^0+$/.test(ip)) return `[::]:${p}`;
  if (ip === '00000000000000000000000001000000') return `[::1]:${p}`;
  return `[${ip}]:${p}`;
}

/** The TCP addresses process `pid` listens on (Linux /proc), e.g. `['127.0.0.1:6800']`. */
export function listeningAddresses(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const addresses: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is column 1, st column 3 (0A = LISTEN), inode column 9.
      if (cols.length > 9 && cols[3] === '0A' && inodes.has(cols[9])) addresses.push(procAddress(cols[1]));
    }
  }
  return addresses.sort();
}

/** Kills a daemon at once (its state is throwaway; memstore would otherwise write every object to disk on SIGTERM). */
async function kill(proc: RunningProcess): Promise<void> {
  if (proc.exited() === undefined && proc.pid > 0) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await proc.stop();
}

/**
 * Starts monitor, OSD and radosgw under `dir` (created if missing), creates an S3 user with a random key pair and
 * resolves once radosgw answers. Every daemon is registered with `cleanup` as soon as it is spawned, so a start that
 * fails half way still leaves nothing running.
 */
export async function startCeph(cleanup: Cleanup, dir: string, options: StartCephOptions = {}): Promise<CephS3> {
  const started = Date.now();
  const startSteps: Record<string, number> = {};
  const step = (name: string) => (startSteps[name] = Date.now() - started);
  const region = options.region ?? 'us-east-1';
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  for (const sub of ['mon', 'osd', 'rgw', 'run', 'crash']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const fsid = randomUUID();
  const osdUuid = randomUUID();
  const accessKey = randomBytes(10).toString('hex').toUpperCase();
  const secretKey = randomBytes(20).toString('base64url');
  const conf = path.join(dir, 'ceph.conf');
  fs.writeFileSync(conf, cephConf(dir, fsid, monPort, rgwPort, options));

  const daemons: Array<{ name: string; proc: RunningProcess }> = [];
  const daemon = (name: string, command: string, args: string[]) => {
    const proc = spawnLogged(cleanup, command, ['-c', conf, ...args, '-f'], { logPath: path.join(dir, `${name}.out.log`) });
    cleanup.add(() => kill(proc));
    daemons.push({ name, proc });
    return proc;
  };
  const logTails = (lines = 15) =>
    daemons
      .map(({ name, proc }) => {
        const own = path.join(dir, `${name}.log`);
        const tail = fs.existsSync(own) ? fs.readFileSync(own, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
        return `--- ${name} (${proc.exited() ?? 'running'}) ---\n${proc.logTail(lines)}\n${tail}`;
      })
      .join('\n');
  const anyExited = () => daemons.map(({ name, proc }) => (proc.exited() ? `${name} ${proc.exited()}` : '')).find(Boolean);

  try {
    const monmap = path.join(dir, 'monmap');
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, monmap]);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', monmap]);
    daemon('mon.a', 'ceph-mon', ['-i', 'a']);
    step('mon');
    // One `ceph` session (its interactive mode reads commands from stdin) registers the OSD and creates radosgw's
    // pools: one Python start-up instead of one per command. Meanwhile the OSD's store is made. The pools get no
    // `rgw` application tag (radosgw tags only the pools it creates): the tag silences a health warning, nothing
    // else, and each command is one more monitor commit.
    const commands = [`osd new ${osdUuid}`, ...RGW_POOLS.map((p) => `osd pool create ${p}`)];
    const cli = run('ceph', ['-c', conf, '--connect-timeout', '15'], { input: commands.join('\n') + '\n' });
    cli.catch(() => undefined); // awaited below; this only keeps a failing mkfs from leaving it unhandled
    // memstore's mkfs prints "<dir> mkfs had fsid ..." on stderr: not an error.
    await run('ceph-osd', ['-c', conf, '-i', '0', '--mkfs', '--osd-uuid', osdUuid]);
    const cliOutput = await cli;
    const missing = RGW_POOLS.filter((p) => !cliOutput.includes(`pool '${p}' created`));
    if (missing.length > 0) throw new Error(`ceph did not create pools ${missing.join(', ')}:\n${cliOutput}`);
    step('osd-and-pools');
    daemon('osd.0', 'ceph-osd', ['-i', '0']);
    daemon('client.rgw', 'radosgw', ['-n', 'client.rgw']);
    await waitFor('radosgw', async () => (await plainRequest(new URL(`http://127.0.0.1:${rgwPort}/`), 'GET', {})).status === 200, {
      timeoutMs: readyTimeoutMs,
      abort: anyExited,
    });
    step('rgw');
    // radosgw-admin talks to RADOS directly; the key pair goes on argv, which is fine for a throwaway loopback cluster.
    await run('radosgw-admin', ['-c', conf, '-n', 'client.admin', 'user', 'create', '--uid', 'registry', '--display-name', 'registry',
      '--access-key', accessKey, '--secret-key', secretKey]);
    step('user');
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${logTails()}`);
  }

  const endpoint = `http://127.0.0.1:${rgwPort}`;
  const request: CephS3['request'] = (method, pathAndQuery, { body, secretKey: secret = secretKey } = {}) => {
    const url = new URL(pathAndQuery, endpoint);
    const headers = signS3({ method, host: url.host, pathname: url.pathname, query: url.searchParams, region, accessKey, secretKey: secret });
    return plainRequest(url, method, headers, body);
  };
  const byPid = (name: string) => daemons.find((d) => d.name === name)?.proc.pid ?? -1;
  return {
    endpoint,
    port: rgwPort,
    region,
    accessKey,
    secretKey,
    dir,
    startMs: Date.now() - started,
    startSteps,
    addKey: async (access, secret) => {
      await run('radosgw-admin', ['-c', conf, '-n', 'client.admin', 'key', 'create', '--uid', 'registry', '--key-type', 's3',
        '--access-key', access, '--secret-key', secret]);
    },
    createBucket: async (name) => {
      const res = await request('PUT', `/${enc(name)}`);
      if (res.status !== 200) throw new Error(`PUT /${name}: ${res.status} ${res.body}`);
    },
    listObjects: async (bucket, prefix = '') => {
      const objects: Array<{ key: string; size: number }> = [];
      let token: string | undefined;
      do {
        const query = new URLSearchParams({ 'list-type': '2', prefix, ...(token ? { 'continuation-token': token } : {}) });
        const res = await request('GET', `/${enc(bucket)}?${query}`);
        if (res.status !== 200) throw new Error(`ListObjectsV2 ${bucket}: ${res.status} ${res.body}`);
        for (const [, key, size] of res.body.matchAll(/<Contents><Key>([^<]*)<\/Key>[\s\S]*?<Size>(\d+)<\/Size>/g)) {
          objects.push({ key: key.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'), size: Number(size) });
        }
        token = /<IsTruncated>true<\/IsTruncated>/.test(res.body) ? /<NextContinuationToken>([^<]*)</.exec(res.body)?.[1] : undefined;
      } while (token);
      return objects;
    },
    request,
    requests: () => {
      const log = path.join(dir, 'client.rgw.log');
      const text = fs.existsSync(log) ? fs.readFileSync(log, 'latin1') : '';
      return [...text.matchAll(/ beast: \S+ \S+ - (\S+) \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d+)/g)]
        .map(([, user, method, p, status]) => ({ user, method, path: p, status: Number(status) }));
    },
    pids: { mon: byPid('mon.a'), osd: byPid('osd.0'), rgw: byPid('client.rgw') },
    memoryKb: () => ({ mon: rssKb(byPid('mon.a')), osd: rssKb(byPid('osd.0')), rgw: rssKb(byPid('client.rgw')) }),
    logTails,
    stop: async () => {
      for (const { proc } of [...daemons].reverse()) await kill(proc);
    },
  };
}
