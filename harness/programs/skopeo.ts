import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { execFileAsync } from './process';

/** How skopeo reaches a registry: `certDir` holds ca.crt (TLS verification stays on); `creds` is `user:password`. */
export interface SkopeoAuth {
  readonly certDir?: string;
  readonly creds?: string;
}

function authArgs(auth: SkopeoAuth, prefix: '' | 'src-' | 'dest-'): string[] {
  return [
    ...(auth.certDir ? [`--${prefix}cert-dir`, auth.certDir] : []),
    ...(auth.creds ? [`--${prefix}creds`, auth.creds] : []),
  ];
}

/** Runs skopeo with no signature policy file needed (--insecure-policy skips signature policy, not TLS checks). */
function skopeo(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync('skopeo', ['--insecure-policy', ...args]);
}

/** `skopeo inspect`: the manifest digest of `ref` (`docker://host:port/repo:tag`). */
export async function skopeoDigest(ref: string, auth: SkopeoAuth): Promise<string> {
  const { stdout } = await skopeo(['inspect', ...authArgs(auth, ''), ref]);
  return (JSON.parse(stdout) as { Digest: string }).Digest;
}

/**
 * `skopeo copy src dest` (each `docker://...` or `dir:...`): skopeo verifies every blob digest while copying.
 * Returns the digest of the manifest written to `dest`.
 */
export async function skopeoCopy(src: string, dest: string, auth: { src?: SkopeoAuth; dest?: SkopeoAuth }, workDir: string): Promise<string> {
  const digestFile = path.join(workDir, `digest-${process.hrtime.bigint()}`);
  await skopeo(['copy', '--digestfile', digestFile, ...authArgs(auth.src ?? {}, 'src-'), ...authArgs(auth.dest ?? {}, 'dest-'), src, dest]);
  return (await fs.readFile(digestFile, 'utf8')).trim();
}

/** Why `skopeo inspect ref` fails (its stderr), or undefined when it succeeds. */
export async function skopeoInspectFailure(ref: string, auth: SkopeoAuth): Promise<string | undefined> {
  try {
    await skopeo(['inspect', ...authArgs(auth, ''), ref]);
    return undefined;
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
}

/** `skopeo delete ref`: deletes the manifest the reference names (by tag, skopeo resolves the digest first). */
export async function skopeoDelete(ref: string, auth: SkopeoAuth): Promise<void> {
  await skopeo(['delete', ...authArgs(auth, ''), ref]);
}

/** What a user sees when a skopeo command fails (its stderr), or undefined when it succeeds. */
export async function skopeoFailure(command: Promise<unknown>): Promise<string | undefined> {
  try {
    await command;
    return undefined;
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
}
