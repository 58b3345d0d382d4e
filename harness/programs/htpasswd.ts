import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';

import { MACHINE_BCRYPT_COST } from '../../lib/auth/machine-hash';

/** The cost of the stack's generated credentials (lib/auth/machine-hash.ts): what the front checks on every request. */
export const STACK_BCRYPT_COST = MACHINE_BCRYPT_COST;
/** random_password.bcrypt_hash's cost, and `htpasswd -B`'s default: what human passwords and the old scheme use. */
export const HUMAN_BCRYPT_COST = 10;

/**
 * One htpasswd line like the stack's: bcrypt at `cost` by `htpasswd -nB -C <cost>`, with the `$2y$` prefix
 * rewritten to `$2a$` (the same algorithm; the prefix Terraform's bcrypt() and the random provider emit). The
 * password goes through stdin (`-i`), not argv. Every request checks bcrypt: at cost 10 that is ~65 ms of CPU each.
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
