import * as fs from 'node:fs/promises';

import { MACHINE_BCRYPT_COST } from '../../lib/auth/machine-hash';
import { execFileLight } from './spawner';

/** The cost of the stack's generated credentials (lib/auth/machine-hash.ts): what the front checks on every request. */
export const STACK_BCRYPT_COST = MACHINE_BCRYPT_COST;
/** random_password.bcrypt_hash's cost, and `htpasswd -B`'s default: what human passwords and the old scheme use. */
export const HUMAN_BCRYPT_COST = 10;

/**
 * One htpasswd line like the stack's: bcrypt at `cost` by `htpasswd -nB -C <cost>`, with the `$2y$` prefix
 * rewritten to `$2a$` (the same algorithm; the prefix Terraform's bcrypt() and the random provider emit). The
 * password goes through stdin (`-i`), not argv. Every request checks bcrypt: at cost 10 that is ~65 ms of CPU each.
 */
export async function htpasswdEntry(user: string, password: string, cost = STACK_BCRYPT_COST): Promise<string> {
  const { stdout } = await execFileLight('htpasswd', ['-niB', '-C', String(cost), user], { input: password })
    .catch((err) => { throw new Error(`htpasswd failed: ${err.stderr || err.message}`); });
  const line = stdout.trim().replace(/^([^:]+):\$2y\$/, '$1:$2a$');
  const prefix = `${user}:$2a$${String(cost).padStart(2, '0')}$`;
  if (!line.startsWith(prefix)) throw new Error(`unexpected htpasswd output: ${line}`);
  return line;
}

/** Writes an htpasswd file for `users` (user -> password) and returns its lines. */
export async function writeHtpasswd(filePath: string, users: Record<string, string>, cost = STACK_BCRYPT_COST): Promise<string[]> {
  const lines = await Promise.all(Object.entries(users).map(([u, p]) => htpasswdEntry(u, p, cost)));
  await fs.writeFile(filePath, lines.join('\n') + '\n', { mode: 0o600 });
  return lines;
}
