/**
 * Cleanup scopes: everything a test starts (processes, temp dirs) registers a stop function here, and the scope
 * runs them all, last started first, even when the test failed. Use `useCleanup()` inside a jest `describe`, or
 * `withCleanup(fn)` from plain scripts (the benchmark).
 */
export type CleanupFn = () => Promise<void> | void;

export class Cleanup {
  private readonly fns: CleanupFn[] = [];

  add(fn: CleanupFn): void {
    this.fns.push(fn);
  }

  /** Runs every registered function (newest first); throws one error naming all that failed. */
  async run(): Promise<void> {
    const errors: unknown[] = [];
    while (this.fns.length > 0) {
      const fn = this.fns.pop()!;
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) {
      throw new Error(`cleanup failed: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`);
    }
  }
}

/** A scope whose cleanup runs in jest's afterAll of the enclosing describe (or file). */
export function useCleanup(): Cleanup {
  const cleanup = new Cleanup();
  afterAll(() => cleanup.run(), 30_000);
  return cleanup;
}

/** Runs `fn` with a fresh scope and always cleans up, whatever `fn` did. */
export async function withCleanup<T>(fn: (cleanup: Cleanup) => Promise<T>): Promise<T> {
  const cleanup = new Cleanup();
  try {
    return await fn(cleanup);
  } finally {
    await cleanup.run();
  }
}
