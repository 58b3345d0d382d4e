/**
 * The helper process of spawner.ts: runs each command it is sent with `execFile` and sends back its output, or its
 * error. It exits when its caller does (the IPC channel closes).
 */
import { execFile } from 'node:child_process';
import type { ExecOptions, ExecReply } from './spawner';

interface Request {
  readonly id: number;
  readonly file: string;
  readonly args: string[];
  readonly options: ExecOptions;
}

process.on('message', ({ id, file, args, options }: Request) => {
  const { env, input, ...rest } = options;
  const child = execFile(file, args, { ...rest, ...(env ? { env } : {}), encoding: 'utf8' }, (err, stdout, stderr) => {
    const e = err as (Error & { code?: number | string; signal?: string | null; killed?: boolean }) | null;
    const reply: ExecReply = {
      id, stdout, stderr,
      ...(e ? { error: { message: e.message, code: e.code, signal: e.signal, killed: e.killed } } : {}),
    };
    process.send!(reply);
  });
  if (input !== undefined) child.stdin!.end(input);
});
process.on('disconnect', () => process.exit(0));
