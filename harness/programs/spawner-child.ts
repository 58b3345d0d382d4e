/**
 * The helper process of spawner.ts: runs each command it is sent (`execFileHere`) and sends back its output, or its
 * error. It exits when its caller does (the IPC channel closes).
 */
import { type ExecOptions, execFileHere, type ExecReply } from './spawner';

interface Request {
  readonly id: number;
  readonly file: string;
  readonly args: string[];
  readonly options: ExecOptions;
}

process.on('message', ({ id, file, args, options }: Request) => {
  const send = (reply: ExecReply) => process.send!(reply);
  execFileHere(file, args, options).then(({ stdout, stderr }) => send({ id, stdout, stderr }), (e) => send({
    id, stdout: e.stdout ?? '', stderr: e.stderr ?? '', error: { message: e.message, code: e.code, signal: e.signal, killed: e.killed },
  }));
});
process.on('disconnect', () => process.exit(0));
