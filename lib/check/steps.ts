import { randomBytes } from 'node:crypto';
import { AdviceContext, adviceForStatus, diagnose, diagnoseCertificate, Diagnosis, EXIT_CODES, FailureKind, hostnameMismatch } from './advice';
import { deleteImage, pullImage, pushImage, PushedImage } from './blobs';
import { RegistryClient } from './client';
import { probeTls } from './tls-probe';

/** Chunk size for the generated probe layer (~170 bytes): three PATCHes with Content-Range. */
const PROBE_CHUNK_SIZE = 64;

/**
 * Where the probe image goes. Distribution has no way to remove a repository, so after the first check this name
 * stays in /v2/_catalog for good, holding no tags once the cleanup step ran: named so an operator knows what it is.
 */
export const DEFAULT_REPOSITORY = 'registry-check/probe';

/** A served certificate with fewer days than this left draws a warning. */
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

/** The port used for a target that names none: HTTPS's, as docker and podman assume for `host/image`. */
export const DEFAULT_PORT = 443;

export interface CheckOptions {
  /** host:port of the registry (DEFAULT_PORT when omitted). */
  readonly target: string;
  readonly username?: string;
  readonly password?: string;
  /** CA bundle (PEM) to trust; @default - Node's built-in public roots */
  readonly caPem?: string;
  /** Where caPem came from, for advice. */
  readonly caFile?: string;
  /** Skip certificate verification (reported as a warning). @default false */
  readonly insecure?: boolean;
  /** @default DEFAULT_REPOSITORY */
  readonly repository?: string;
  /** @default - a unique `check-<time>-<random>` tag */
  readonly tag?: string;
  /** Delete the pushed image afterwards. @default true */
  readonly cleanup?: boolean;
  /** Per-request idle timeout. @default 30000 */
  readonly timeoutMs?: number;
  /** Push this file as the layer (streamed) instead of a generated probe layer. */
  readonly layerFile?: string;
  /** Upload the layer in PATCHes of this many bytes. @default - the probe layer in 64-byte chunks; a layer file in one streamed PATCH */
  readonly chunkSize?: number;
  /** Called as each step finishes (for progress output). */
  readonly onStep?: (step: StepResult) => void;
}

export interface StepResult {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail: string;
  readonly advice?: string;
  /** The step's warnings, one per line. */
  readonly warning?: string;
}

/** When the served (leaf) certificate ends. */
export interface CertificateExpiry {
  /** ISO 8601. */
  readonly notAfter: string;
  /** Whole days left (negative once expired). */
  readonly daysLeft: number;
  /** Fewer than EXPIRY_WARNING_DAYS left (or expired): renew it. */
  readonly expiresSoon: boolean;
}

export interface CheckResult {
  readonly ok: boolean;
  readonly exitCode: number;
  /** Failure kind behind a non-zero exit code. */
  readonly failure?: FailureKind;
  readonly target: string;
  /** The port checked: the target's, or DEFAULT_PORT when it names none. */
  readonly port: number;
  /** True when the target named no port and `port` was assumed. */
  readonly portAssumed: boolean;
  readonly repository: string;
  readonly tag: string;
  readonly manifestDigest?: string;
  /** The served certificate's end, once the TLS handshake got that far. */
  readonly certificate?: CertificateExpiry;
  readonly warnings: string[];
  readonly steps: StepResult[];
}

/** A step failure already explained. */
export class StepFailure extends Error {
  constructor(readonly diagnosis: Diagnosis) {
    super(diagnosis.detail);
  }
}

interface StepOutcome {
  readonly detail: string;
  readonly warnings?: string[];
}

interface Context {
  readonly options: CheckOptions;
  readonly client: RegistryClient;
  readonly advice: AdviceContext;
  readonly repository: string;
  readonly tag: string;
  authRequired: boolean;
  certificate?: CertificateExpiry;
  pushed?: PushedImage;
}

interface Step {
  readonly name: string;
  /** The exit code family used when an error says nothing more specific. */
  readonly kind: FailureKind;
  run(ctx: Context): Promise<StepOutcome>;
}

/** Splits `host[:port]` (IPv6 in brackets; DEFAULT_PORT when no port is given); throws on anything else. */
export function parseTarget(target: string): { host: string; port: number; portAssumed: boolean } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:/\s[\]]+))(?::(\d{1,5}))?$/.exec(target);
  if (!match) throw new Error(`expected <host>:<port>, got "${target}"`);
  const portAssumed = match[3] === undefined;
  const port = portAssumed ? DEFAULT_PORT : Number(match[3]);
  if (port < 1 || port > 65535) throw new Error(`port ${match[3]} in "${target}" is out of range (1-65535)`);
  return { host: match[1] ?? match[2], port, portAssumed };
}

const fail = (kind: FailureKind, detail: string, advice?: string) => new StepFailure({ kind, detail, advice });

export function certificateExpiry(notAfter: Date, now = new Date()): CertificateExpiry {
  const leftMs = notAfter.getTime() - now.getTime();
  return { notAfter: notAfter.toISOString(), daysLeft: Math.floor(leftMs / DAY_MS), expiresSoon: leftMs < EXPIRY_WARNING_DAYS * DAY_MS };
}

function expiryWarning({ notAfter, daysLeft }: CertificateExpiry): string {
  const days = (n: number) => `${n} day${n === 1 ? '' : 's'}`;
  const when = daysLeft < 0 ? `expired ${days(-daysLeft)} ago (${notAfter})` : `expires in ${days(daysLeft)}, at ${notAfter}`;
  return `certificate ${when}: renew it. The stack re-issues a generated one on the first apply within `
    + `cert_early_renewal_hours (720 h = ${EXPIRY_WARNING_DAYS} days by default) of its end; a provided one (tls_certificate_pem) is yours to renew.`;
}

const STEPS: Step[] = [
  {
    name: 'tls',
    kind: 'tls',
    async run(ctx) {
      const { host, port } = parseTarget(ctx.options.target);
      const tls = await probeTls({ host, port, caPem: ctx.options.caPem, timeoutMs: ctx.client.timeoutMs });
      ctx.certificate = tls.notAfter && certificateExpiry(tls.notAfter);
      const expiring = ctx.certificate?.expiresSoon ? [expiryWarning(ctx.certificate)] : [];
      const detail = `${tls.protocol} ${tls.cipher}; subject ${tls.subject}; issuer ${tls.issuer}; `
        + `SANs ${tls.subjectAltNames.join(', ') || '(none)'}; valid to ${tls.validTo}`;
      const problems = [
        tls.chainError ? diagnoseCertificate(tls.chainError, ctx.advice) : undefined,
        tls.hostnameError ? hostnameMismatch(tls.hostnameError, ctx.advice) : undefined,
      ].filter((d): d is Diagnosis => d !== undefined);
      if (problems.length === 0) return { detail: `certificate trusted and names ${host}; ${detail}`, warnings: expiring };
      if (ctx.options.insecure) {
        return { detail, warnings: [`--insecure hides: ${problems.map((p) => p.detail).join('; ')}`, ...expiring] };
      }
      throw new StepFailure({ ...problems[0], detail: `${problems.map((p) => p.detail).join('; ')}; ${detail}` });
    },
  },
  {
    name: 'health',
    kind: 'connection',
    async run(ctx) {
      const res = await ctx.client.request('GET', '/', { anonymous: true });
      const body = (await res.text(64 * 1024)).trim();
      if (res.status === 200) return { detail: 'GET / -> 200: registry healthy' };
      if (res.status === 503) {
        throw fail('connection', `GET / -> 503: the registry reports storage unhealthy${body ? ` (${body.slice(0, 200)})` : ''}`, adviceForStatus(503));
      }
      throw fail('connection', `GET / -> ${res.status}, expected 200 (is a proxy or another service answering on ${ctx.options.target}?)`, adviceForStatus(res.status));
    },
  },
  {
    name: 'auth-challenge',
    kind: 'auth',
    async run(ctx) {
      const res = await ctx.client.request('GET', '/v2/', { anonymous: true });
      await res.drain();
      const challenge = String(res.headers['www-authenticate'] ?? '');
      if (res.status === 200) {
        ctx.authRequired = false;
        return {
          detail: 'GET /v2/ without credentials -> 200',
          warnings: [`REGISTRY IS OPEN: anyone who reaches ${ctx.options.target} can push and pull without credentials. Configure auth.htpasswd.`],
        };
      }
      if (res.status !== 401) throw fail('connection', `GET /v2/ -> ${res.status}, expected 401 with a Basic challenge`, adviceForStatus(res.status));
      if (/^basic\b/i.test(challenge)) return { detail: `GET /v2/ without credentials -> 401, WWW-Authenticate: ${challenge}` };
      throw fail('auth', `GET /v2/ -> 401 with challenge "${challenge || '(none)'}"`,
        'registry-check supports htpasswd (Basic) auth only; token (Bearer) auth needs a token server client.');
    },
  },
  {
    name: 'login',
    kind: 'auth',
    async run(ctx) {
      if (!ctx.client.hasCredentials) {
        if (!ctx.authRequired) return { detail: 'no --user given; the registry is open, continuing anonymously' };
        throw fail('auth', 'the registry requires credentials and none were given',
          'Pass --user <name> and the password on stdin (--password-stdin) or in REGISTRY_PASSWORD.');
      }
      const res = await ctx.client.expect('GET', '/v2/', [200]);
      await res.drain();
      const api = res.headers['docker-distribution-api-version'];
      return {
        detail: `GET /v2/ as ${ctx.options.username} -> 200 (${api ?? 'no Docker-Distribution-API-Version header'})`,
        warnings: api ? [] : ['no Docker-Distribution-API-Version header: is this a distribution registry?'],
      };
    },
  },
  {
    name: 'catalog',
    kind: 'auth',
    async run(ctx) {
      const res = await ctx.client.expect('GET', '/v2/_catalog?n=100', [200, 404, 405]);
      if (res.status !== 200) {
        await res.drain();
        return { detail: `GET /v2/_catalog -> ${res.status}`, warnings: ['the catalog endpoint is not available (disabled or filtered by a proxy)'] };
      }
      const catalog = JSON.parse(await res.text()) as { repositories?: string[] };
      const repos = catalog.repositories ?? [];
      return { detail: `GET /v2/_catalog -> 200, ${repos.length} repositor${repos.length === 1 ? 'y' : 'ies'}${res.headers.link ? ' (more pages)' : ''}` };
    },
  },
  {
    name: 'push',
    kind: 'push',
    async run(ctx) {
      // The generated probe layer goes in several Content-Range chunks so every upload path the registry offers
      // is exercised (the config goes monolithic); a --layer-file streams in one PATCH unless --chunk-size is set.
      const chunkSize = ctx.options.chunkSize ?? (ctx.options.layerFile ? undefined : PROBE_CHUNK_SIZE);
      const pushed = await pushImage(ctx.client, ctx.repository, ctx.tag, { layerFile: ctx.options.layerFile, chunkSize });
      ctx.pushed = pushed;
      const [layer] = pushed.layers;
      return {
        detail: `${ctx.repository}:${ctx.tag} manifest ${pushed.manifestDigest}; layer ${layer.digest} (${layer.size} bytes, ${pushed.layerUpload} upload); `
          + `config ${pushed.config.digest} (${pushed.config.size} bytes, monolithic upload)`,
      };
    },
  },
  {
    name: 'pull',
    kind: 'pull',
    async run(ctx) {
      const pulled = await pullImage(ctx.client, ctx.repository, ctx.tag, ctx.pushed!.manifestDigest);
      return { detail: `manifest ${pulled.digest} by tag (Docker-Content-Digest matches); ${1 + pulled.layers.length} blobs pulled, sha256 verified` };
    },
  },
  {
    name: 'cleanup',
    kind: 'cleanup',
    async run(ctx) {
      const pushed = ctx.pushed!;
      if (ctx.options.cleanup === false) return { detail: `skipped (--no-cleanup): ${ctx.repository}:${ctx.tag} stays` };
      const outcome = await deleteImage(ctx.client, ctx.repository, pushed.manifestDigest, [pushed.config, ...pushed.layers]);
      if (outcome === 'disabled') {
        return { detail: `deletes disabled (storage.delete.enabled is off): ${ctx.repository}:${ctx.tag} stays; not a failure` };
      }
      return {
        detail: `deleted manifest ${pushed.manifestDigest} and its blob links (space returns after garbage-collect); `
          + `${ctx.repository} stays listed in /v2/_catalog, without tags: distribution never removes a repository from it`,
      };
    },
  },
];

export const STEP_NAMES = STEPS.map((s) => s.name);

export function uniqueTag(now = new Date()): string {
  return `check-${now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}-${randomBytes(4).toString('hex')}`;
}

/** Runs the steps in order and stops at the first failure. Never throws for registry problems: they are in the result. */
export async function runCheck(options: CheckOptions): Promise<CheckResult> {
  const { host, port, portAssumed } = parseTarget(options.target);
  const client = new RegistryClient({
    host,
    port,
    username: options.username,
    password: options.password,
    caPem: options.caPem,
    insecure: options.insecure,
    timeoutMs: options.timeoutMs,
  });
  const ctx: Context = {
    options,
    client,
    advice: { target: options.target, caFile: options.caFile, assumedPort: portAssumed ? port : undefined },
    repository: options.repository ?? DEFAULT_REPOSITORY,
    tag: options.tag ?? uniqueTag(),
    authRequired: true,
  };
  const warnings: string[] = [];
  if (options.insecure) warnings.push('--insecure: certificate verification is OFF; anyone in the path can read the credentials and the images.');
  const steps: StepResult[] = [];
  let failure: FailureKind | undefined;
  try {
    for (const step of STEPS) {
      const started = performance.now();
      let result: StepResult;
      try {
        const { detail, warnings: stepWarnings = [] } = await step.run(ctx);
        result = { name: step.name, ok: true, ms: Math.round(performance.now() - started), detail };
        if (stepWarnings.length > 0) result = { ...result, warning: stepWarnings.join('\n') };
        warnings.push(...stepWarnings);
      } catch (err) {
        const diagnosis = err instanceof StepFailure ? err.diagnosis : diagnose(err, step.kind, ctx.advice);
        result = { name: step.name, ok: false, ms: Math.round(performance.now() - started), detail: diagnosis.detail, advice: diagnosis.advice };
        failure = diagnosis.kind;
      }
      steps.push(result);
      options.onStep?.(result);
      if (failure) break;
    }
  } finally {
    client.close();
  }
  return {
    ok: failure === undefined,
    exitCode: failure ? EXIT_CODES[failure] : EXIT_CODES.ok,
    failure,
    target: options.target,
    port,
    portAssumed,
    repository: ctx.repository,
    tag: ctx.tag,
    manifestDigest: ctx.pushed?.manifestDigest,
    certificate: ctx.certificate,
    warnings,
    steps,
  };
}
