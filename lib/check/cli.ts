import * as fs from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { EXIT_CODES } from './advice';
import { CheckResult, DEFAULT_PORT, DEFAULT_REPOSITORY, parseTarget, runCheck, StepResult, STEP_NAMES } from './steps';

export const USAGE = `Usage: registry-check <host:port> [options]

Checks a private OCI registry end to end: TLS, health, auth, catalog, push, pull, cleanup.
Each step prints PASS/FAIL with its time; the first failure stops the run and says what to do.
<host:port> is the registry's endpoint (the stack's registry_endpoint output); without :port, ${DEFAULT_PORT} is assumed.

Options:
  -u, --user <name>        user to log in as (htpasswd/Basic auth)
      --password-stdin     read the password from stdin (else env REGISTRY_PASSWORD; never on argv)
      --ca-file <pem>      CA certificate(s) to trust for the registry (default: Node's public roots)
      --insecure           DO NOT verify the certificate (warned about; for diagnosis only)
      --repository <name>  repository to push the probe image to (default ${DEFAULT_REPOSITORY})
      --tag <tag>          tag for the probe image (default: unique per run)
      --no-cleanup         leave the probe image in place (default: delete it by digest)
      --layer-file <path>  push this file as the image layer (streamed; for benchmarks)
      --chunk-size <size>  upload the layer in PATCHes of this size, e.g. 5m (default: one streamed PATCH)
      --timeout <seconds>  idle timeout per request (default 30)
      --json               print one JSON result on stdout instead of text (usage errors too)
  -h, --help               show this help

Steps: ${STEP_NAMES.join(', ')}

Exit codes:
  ${EXIT_CODES.ok}  all steps passed (warnings may have been printed)
  ${EXIT_CODES.internal}  internal error (a bug in registry-check)
  ${EXIT_CODES.usage}  usage error (bad option or argument)
  ${EXIT_CODES.tls}  TLS: handshake, certificate trust or hostname, or plain HTTP on the port
  ${EXIT_CODES.auth}  auth: wrong or missing credentials, unsupported challenge
  ${EXIT_CODES.push}  push failed (upload or manifest)
  ${EXIT_CODES.pull}  pull failed or a digest did not verify
  ${EXIT_CODES.connection}  health/connection: refused, reset, timed out, storage unhealthy (503)
  ${EXIT_CODES.cleanup}  cleanup failed (deletes disabled is NOT a failure)

Example:
  printf '%s' "$PASS" | registry-check registry.example.com:5000 --user admin --password-stdin --ca-file ca.crt
`;

export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Record<string, string | undefined>;
}

class UsageError extends Error {}

const OPTIONS = {
  user: { type: 'string', short: 'u' },
  'password-stdin': { type: 'boolean' },
  password: { type: 'string', short: 'p' },
  'ca-file': { type: 'string' },
  insecure: { type: 'boolean' },
  repository: { type: 'string' },
  tag: { type: 'string' },
  'no-cleanup': { type: 'boolean' },
  'layer-file': { type: 'string' },
  'chunk-size': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

// The OCI distribution spec's repository name and tag grammars.
const REPOSITORY_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function parseSize(value: string): number {
  const match = /^(\d+)([kmg]?)(i?b)?$/i.exec(value.trim());
  if (!match) throw new UsageError(`--chunk-size: expected bytes like 1048576, 512k or 5m, got "${value}"`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  const bytes = Number(match[1]) * scale;
  if (bytes < 1) throw new UsageError('--chunk-size must be at least 1 byte');
  return bytes;
}

async function readAll(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString('utf8');
}

function stepLine(step: StepResult): string {
  const lines = [`${step.ok ? 'PASS' : 'FAIL'} ${step.name.padEnd(14)} ${`${step.ms} ms`.padStart(8)}  ${step.detail}`];
  for (const warning of step.warning?.split('\n') ?? []) lines.push(`     WARNING: ${warning}`);
  if (step.advice) lines.push(`     advice: ${step.advice}`);
  return lines.join('\n') + '\n';
}

function summaryLine(result: CheckResult): string {
  return result.ok
    ? `OK: ${result.target} passed ${result.steps.length} steps${result.warnings.length ? ` with ${result.warnings.length} warning(s)` : ''}\n`
    : `FAILED: ${result.target} at step ${result.steps[result.steps.length - 1].name} (exit ${result.exitCode}: ${result.failure})\n`;
}

/** The parsed command line, ready for runCheck. */
async function optionsFrom(argv: string[], io: CliIo) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return undefined;
  if (values.password !== undefined) {
    throw new UsageError('passwords are never taken on the command line (shell history, ps): use --password-stdin or REGISTRY_PASSWORD');
  }
  if (positionals.length !== 1) throw new UsageError(`expected exactly one <host:port>, got ${positionals.length}`);
  const target = positionals[0];
  try {
    parseTarget(target);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const repository = values.repository ?? DEFAULT_REPOSITORY;
  if (!REPOSITORY_RE.test(repository)) throw new UsageError(`--repository: "${repository}" is not a valid repository name (lowercase, [a-z0-9._-/])`);
  if (values.tag !== undefined && !TAG_RE.test(values.tag)) throw new UsageError(`--tag: "${values.tag}" is not a valid tag`);
  if (values['password-stdin'] && values.user === undefined) throw new UsageError('--password-stdin needs --user');
  let password: string | undefined;
  if (values.user !== undefined) {
    password = values['password-stdin'] ? (await readAll(io.stdin)).replace(/\r?\n$/, '') : io.env.REGISTRY_PASSWORD;
    if (password === undefined) throw new UsageError(`--user ${values.user} needs a password: --password-stdin or REGISTRY_PASSWORD`);
  }
  const readFile = (flag: string, file: string | undefined) => {
    if (file === undefined) return undefined;
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`${flag}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const caPem = readFile('--ca-file', values['ca-file']);
  if (caPem !== undefined && !caPem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--ca-file: ${values['ca-file']} holds no PEM certificate`);
  if (values['layer-file'] !== undefined && !fs.statSync(values['layer-file'], { throwIfNoEntry: false })?.isFile()) {
    throw new UsageError(`--layer-file: ${values['layer-file']} is not a readable file`);
  }
  const timeoutSeconds = values.timeout === undefined ? 30 : Number(values.timeout);
  if (!(timeoutSeconds > 0)) throw new UsageError(`--timeout: expected seconds > 0, got "${values.timeout}"`);
  return {
    json: values.json === true,
    check: {
      target,
      username: values.user,
      password,
      caPem,
      caFile: values['ca-file'],
      insecure: values.insecure === true,
      repository,
      tag: values.tag,
      cleanup: !values['no-cleanup'],
      layerFile: values['layer-file'],
      chunkSize: values['chunk-size'] === undefined ? undefined : parseSize(values['chunk-size']),
      timeoutMs: timeoutSeconds * 1000,
    },
  };
}

/**
 * Writes to `stream` until whoever reads it goes away (`registry-check ... | head -1`: EPIPE), then drops the rest
 * quietly: the check runs to its end (cleanup included) and exits with its own code. Other write errors still throw.
 */
function quietWhenClosed(stream: Writable): (text: string) => void {
  let closed = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed = true;
  });
  return (text) => {
    if (!closed && !stream.destroyed) stream.write(text);
  };
}

/** True when the command line asks for --json, even one that does not parse (an unknown option, a bad value). */
function wantsJson(argv: string[]): boolean {
  try {
    const { tokens } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: false, tokens: true });
    return tokens.some((t) => t.kind === 'option' && t.name === 'json');
  } catch {
    return false;
  }
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const out = quietWhenClosed(io.stdout);
  const err = quietWhenClosed(io.stderr);
  let parsed;
  try {
    parsed = await optionsFrom(argv, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`registry-check: ${error.message}\nTry 'registry-check --help'.\n`);
    if (wantsJson(argv)) {
      const usage = { ok: false, exitCode: EXIT_CODES.usage, failure: 'usage', error: error.message, help: 'registry-check --help' };
      out(`${JSON.stringify(usage, null, 2)}\n`);
    }
    return EXIT_CODES.usage;
  }
  if (!parsed) {
    out(USAGE);
    return EXIT_CODES.ok;
  }
  const { json, check } = parsed;
  if (check.insecure) {
    err('!!! WARNING: --insecure: TLS certificate verification is OFF. Credentials and images can be intercepted. !!!\n');
  }
  if (!json) {
    out(`registry-check ${check.target} (repository ${check.repository})\n`);
    if (parseTarget(check.target).portAssumed) {
      out(`     port: none given, assuming ${DEFAULT_PORT} (the HTTPS default); the stack's registry_endpoint output names its port (external_port, 5000 unless set)\n`);
    }
  }
  const result = await runCheck({
    ...check,
    onStep: (step) => {
      if (!json) out(stepLine(step));
      for (const warning of step.warning?.split('\n') ?? []) err(`!!! WARNING: ${warning}\n`);
    },
  });
  out(json ? `${JSON.stringify(result, null, 2)}\n` : summaryLine(result));
  return result.exitCode;
}
