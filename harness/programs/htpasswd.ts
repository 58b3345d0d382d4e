import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';

/** The cost random_password.bcrypt_hash uses: what the stack's registry checks on every request. */
export const STACK_BCRYPT_COST = 10;

/**
 * One htpasswd line equivalent to random_password.bcrypt_hash: bcrypt cost 10 by `htpasswd -nB -C 10`, with the
 * `$2y$` prefix rewritten to `$2a$` (the same algorithm; the prefix the Terraform provider emits). The password goes
 * through stdin (`-i`), not argv. Tests of the client alone may pass a lower cost: the registry checks bcrypt on
 * every request, and at cost 10 that is ~65 ms of CPU each.
 */
export function htpasswdEntry(user: string, password: string, cost = STACK_BCRYPT_COST): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('htpasswd', ['-niB', '-C', String(cost), user], (err, stdout, stderr) => {
      if (err) return reject(new Error(`htpasswd failed: ${stderr || err.message}`));
      const line = stdout.trim().replace(/^([^:]+):\$2y\$/, '$1:$2a$');
      const prefix = `${user}:$2a$${String(cost).padStart(2, '0')}$`;
      if (!line.startsWith(prefix)) return reject(new Error(`unexpected htpasswd output: ${line}`));
      resolve(line);
    });
    child.stdin!.end(password);
  });
}

/** Writes an htpasswd file for `users` (user -> password) and returns its lines. */
export async function writeHtpasswd(filePath: string, users: Record<string, string>, cost = STACK_BCRYPT_COST): Promise<string[]> {
  const lines = await Promise.all(Object.entries(users).map(([u, p]) => htpasswdEntry(u, p, cost)));
  await fs.writeFile(filePath, lines.join('\n') + '\n', { mode: 0o600 });
  return lines;
}
