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

/** The synthesized nginx.conf with host paths and loopback ports. */
export function localFrontConfig(front: FrontWorkload, pod: LocalPod, ports: { port: number; innerPort: number }, dir: string): string {
  let conf = front.nginxConf;
  // Longest mount paths first, so a path under another mount is mapped by its own.
  for (const mount of [...front.mounts].sort((a, b) => b.mount_path.length - a.mount_path.length)) {
    conf = conf.split(`${mount.mount_path}/`).join(`${pod.volumeDirs[mount.name]}/`);
  }
  conf = replaceChecked(conf, /listen [0-9]+ ssl;/, `listen 127.0.0.1:${ports.port} ssl;`, 'TLS listener');
  conf = replaceChecked(conf, /server 127\.0\.0\.1:[0-9]+;/, `server 127.0.0.1:${ports.innerPort};`, 'registry upstream');
  return replaceChecked(conf, /access_log \/dev\/stdout;/, `access_log ${path.join(dir, 'access.log')};`, 'access log');
}

/** Starts the front and waits until `GET /` answers through it (the registry must be running). */
export async function startFront(
  cleanup: Cleanup,
  options: { front: FrontWorkload; pod: LocalPod; dir: string; port: number; innerPort: number; caPem: string },
): Promise<FrontProcess> {
  await fs.mkdir(options.dir, { recursive: true });
  const confPath = path.join(options.dir, 'nginx.conf');
  await fs.writeFile(confPath, localFrontConfig(options.front, options.pod, options, options.dir));
  const args = options.front.container.command.slice(1) as string[];
  args[args.indexOf('-c') + 1] = confPath;
  // nginx started by root runs its workers as nobody, who cannot read the 0440 secret files: here the workers stay
  // the user the tests run as (in the pod nginx runs as uid 1000 throughout).
  if (process.getuid?.() === 0) args[args.indexOf('-g') + 1] += ' user root root;';
  const proc = spawnLogged(cleanup, options.front.container.command[0], args, { logPath: path.join(options.dir, 'front.log') });
  await waitUntilReady(proc, `front on port ${options.port}`, () => rootAnswers(options.port, options.caPem));
  return { pid: proc.pid, port: options.port, confPath, logPath: proc.logPath, exited: proc.exited, stop: () => proc.stop() };
}
