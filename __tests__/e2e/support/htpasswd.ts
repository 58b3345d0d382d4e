import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';

/**
 * One htpasswd line equivalent to random_password.bcrypt_hash: bcrypt cost 10 by `htpasswd -nB -C 10`, with the
 * `$2y$` prefix rewritten to `$2a$` (the same algorithm; the prefix the Terraform provider emits). The password goes
 * through stdin (`-i`), not argv.
 */
export function htpasswdEntry(user: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('htpasswd', ['-niB', '-C', '10', user], (err, stdout, stderr) => {
      if (err) return reject(new Error(`htpasswd failed: ${stderr || err.message}`));
      const line = stdout.trim().replace(/^([^:]+):\$2y\$/, '$1:$2a$');
      if (!line.startsWith(`${user}:$2a$10$`)) return reject(new Error(`unexpected htpasswd output: ${line}`));
      resolve(line);
    });
    child.stdin!.end(password);
  });
}

/** Writes an htpasswd file for `users` (user -> password) and returns its lines. */
export async function writeHtpasswd(filePath: string, users: Record<string, string>): Promise<string[]> {
  const lines = await Promise.all(Object.entries(users).map(([u, p]) => htpasswdEntry(u, p)));
  await fs.writeFile(filePath, lines.join('\n') + '\n', { mode: 0o600 });
  return lines;
}
