/**
 * Jest global teardown: removes the directory __tests__/setup/synthesize.ts wrote, then waits for the type-check it
 * started and fails the run on any type error.
 */
import { SYNTH_CACHE_ENV } from '../../harness/json';
import { removeDirectory } from '../../harness/remove';

/**
 * Where synthesize.ts leaves the running type-check (jest runs both hooks in its parent process). Defined here, not
 * there: importing synthesize.ts would load cdktf into the teardown.
 */
export const TYPECHECK_KEY = Symbol.for('private-registry-stack.typecheck');

export default async function teardown(): Promise<void> {
  const dir = process.env[SYNTH_CACHE_ENV];
  if (dir) removeDirectory(dir);
  const errors = await ((globalThis as any)[TYPECHECK_KEY] as Promise<string | undefined> | undefined);
  if (errors !== undefined) throw new Error(`tsc --noEmit failed:\n${errors}`);
}
