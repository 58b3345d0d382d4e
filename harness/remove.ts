/**
 * Removing a test's scratch directory must not fail the run: a program that is still exiting (terraform's provider
 * plugins, a registry, nginx) can add a file while the tree is removed, and `rm` then reports ENOTEMPTY or EBUSY.
 * Retry a few times, then leave the directory (under the OS temp dir) and say so.
 */
import { rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';

const OPTIONS = { recursive: true, force: true, maxRetries: 5, retryDelay: 200 } as const;

const warn = (dir: string, error: unknown) =>
  console.warn(`left ${dir} behind: ${(error as Error).message ?? String(error)}`);

export function removeDirectory(dir: string, rm: typeof rmSync = rmSync): void {
  try {
    rm(dir, OPTIONS);
  } catch (error) {
    warn(dir, error);
  }
}

export async function removeDirectoryAsync(dir: string, rm: typeof fs.rm = fs.rm): Promise<void> {
  await rm(dir, OPTIONS).catch((error) => warn(dir, error));
}
