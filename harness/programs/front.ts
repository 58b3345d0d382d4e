/**
 * The registry pod's authorizing front (lib/registry/front.ts), run for real: Debian's nginx with the synthesized
 * nginx.conf, its in-container paths pointed at the host directories standing in for the front's volumes, listening
 * on 127.0.0.1 and passing to the registry's loopback port. The grants file is what Terraform rendered from the
 * role variables (prepareLocalPod writes the evaluated ConfigMap). Not exported from index.ts.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Cleanup } from './cleanup';
import type { FrontWorkload, LocalPod } from './pod';
import { spawnLogged, waitUntilReady } from './process';
import { rootAnswers } from './registry';

export interface FrontProcess {
  readonly pid: number;
  readonly port: number;
  /** The nginx.conf as run (host paths). */
  readonly confPath: string;
  readonly logPath: string;
  /** Set once nginx has exited. */
  exited(): string | undefined;
  stop(): Promise<void>;
}

/** Replaces every `from` in `text`, which must occur. */
function replaceChecked(text: string, from: RegExp, to: string, what: string): string {
  if (!from.test(text)) throw new Error(`the front's nginx.conf has no ${what}`);
  return text.replace(new RegExp(from.source, 'g'), to);
}

/** `text` with every in-container path under one of the front's mounts pointed at the volume's host directory. */
function hostPaths(text: string, front: FrontWorkload, pod: LocalPod): string {
  // Longest mount paths first, so a path under another mount is mapped by its own.
  for (const mount of [...front.mounts].sort((a, b) => b.mount_path.length - a.mount_path.length)) {
    text = text.split(`${mount.mount_path}/`).join(`${pod.volumeDirs[mount.name]}/`);
  }
  return text;
}

/** The synthesized nginx.conf with host paths and loopback ports. */
export function localFrontConfig(front: FrontWorkload, pod: LocalPod, ports: { port: number; innerPort: number }, dir: string): string {
  let conf = hostPaths(front.nginxConf, front, pod);
  conf = replaceChecked(conf, /listen [0-9]+ ssl;/, `listen 127.0.0.1:${ports.port} ssl;`, 'TLS listener');
  conf = replaceChecked(conf, /server 127\.0\.0\.1:[0-9]+;/, `server 127.0.0.1:${ports.innerPort};`, 'registry upstream');
  return replaceChecked(conf, /access_log \/dev\/stdout;/, `access_log ${path.join(dir, 'access.log')};`, 'access log');
}

/**
 * The front container's command (`sh -c "sh <watcher> & exec nginx ..."`) and its certificate watcher as synthesized,
 * with the local nginx.conf in place of the ConfigMap's and host paths for the volumes: the watcher script is the
 * one the ConfigMap holds, rewritten only in its paths.
 */
async function localFrontCommand(front: FrontWorkload, pod: LocalPod, confPath: string, dir: string): Promise<string> {
  const local = (text: string) => hostPaths(text.split(front.configPath).join(confPath), front, pod);
  let script: string = front.container.command[2];
  const watcher = /^sh (\/\S+) & exec /.exec(script)?.[1];
  if (!watcher) throw new Error(`the front's command starts no watcher: ${script}`);
  const localWatcher = path.join(dir, path.basename(watcher));
  await fs.writeFile(localWatcher, local(await fs.readFile(hostPaths(watcher, front, pod), 'utf8')));
  script = local(script.split(watcher).join(localWatcher));
  // nginx started by root runs its workers as nobody, who cannot read the 0440 secret files: here the workers stay
  // the user the tests run as (in the pod nginx runs as uid 1000 throughout).
  if (process.getuid?.() === 0) script = replaceChecked(script, /-g 'daemon off;'/, "-g 'daemon off; user root root;'", 'daemon directive');
  return script;
}

/** Starts the front and waits until `GET /` answers through it (the registry must be running). */
export async function startFront(
  cleanup: Cleanup,
  options: { front: FrontWorkload; pod: LocalPod; dir: string; port: number; innerPort: number; caPem: string },
): Promise<FrontProcess> {
  await fs.mkdir(options.dir, { recursive: true });
  const confPath = path.join(options.dir, 'nginx.conf');
  await fs.writeFile(confPath, localFrontConfig(options.front, options.pod, options, options.dir));
  const script = await localFrontCommand(options.front, options.pod, confPath, options.dir);
  // Its own process group: stopping it stops the watcher the shell started beside nginx.
  const proc = spawnLogged(cleanup, 'sh', ['-c', script], { logPath: path.join(options.dir, 'front.log'), processGroup: true });
  await waitUntilReady(proc, `front on port ${options.port}`, () => rootAnswers(options.port, options.caPem));
  return { pid: proc.pid, port: options.port, confPath, logPath: proc.logPath, exited: proc.exited, stop: () => proc.stop() };
}
