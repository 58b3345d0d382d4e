import { RESERVED_INGRESS_NGINX_PORTS } from '../rules';
import { RegistryHttpError } from './client';

/** Process exit codes of registry-check, one per kind of failure. */
export const EXIT_CODES = {
  ok: 0,
  internal: 1,
  usage: 2,
  tls: 3,
  auth: 4,
  push: 5,
  pull: 6,
  connection: 7,
  cleanup: 8,
} as const;
export type FailureKind = Exclude<keyof typeof EXIT_CODES, 'ok'>;

export interface AdviceContext {
  /** host:port as given. */
  readonly target: string;
  readonly caFile?: string;
  /** The port checked when the target named none. */
  readonly assumedPort?: number;
}

/** A failure explained: which exit code, what happened in plain words, what to do. */
export interface Diagnosis {
  readonly kind: FailureKind;
  readonly detail: string;
  readonly advice?: string;
}

export function trustCaAdvice(ctx: AdviceContext): string {
  const given = ctx.caFile ? `The CA in ${ctx.caFile} did not sign this certificate: pass the CA that did. ` : '';
  return `${given}Pass the registry's CA with --ca-file <ca.pem> (the stack publishes it as the CA output and as ca.crt `
    + `in the registry's TLS secret). For clients: docker /etc/docker/certs.d/${ctx.target}/ca.crt; containerd `
    + `certs.d/${ctx.target}/hosts.toml + ca.crt; CRI-O, podman and skopeo /etc/containers/certs.d/${ctx.target}/ca.crt.`;
}

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

/** Explains an OpenSSL verification code (socket.authorizationError / err.code). */
export function diagnoseCertificate(code: string, ctx: AdviceContext): Diagnosis {
  if (UNKNOWN_AUTHORITY.has(code)) {
    return { kind: 'tls', detail: `x509: certificate signed by unknown authority (${code})`, advice: trustCaAdvice(ctx) };
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return { kind: 'tls', detail: `certificate not valid now (${code})`, advice: 'Renew the leaf certificate (the stack re-issues it before early_renewal_hours on the next apply) and check the clocks.' };
  }
  return { kind: 'tls', detail: `certificate rejected (${code})`, advice: trustCaAdvice(ctx) };
}

export function hostnameMismatch(message: string, ctx: AdviceContext): Diagnosis {
  return {
    kind: 'tls',
    detail: `certificate does not name ${ctx.target.replace(/:\d+$/, '')}: ${message}`,
    advice: 'Clients check the subjectAltName, never the CN: reissue the leaf with this DNS name or IP among its SANs '
      + '(the stack\'s TLS dnsNames/ipAddresses), or connect with a name the certificate has.',
  };
}

const HTTP_ON_TLS: Omit<Diagnosis, 'kind'> = {
  detail: 'server gave HTTP response to HTTPS client',
  advice: 'This port speaks plain HTTP. Serve TLS from the registry (http.tls.certificate/key; the stack does) or point '
    + 'at the TLS port: through ingress-nginx use the TCP-exposed port, not the HTTP port 80. registry-check, like '
    + 'docker without insecure-registries, speaks only HTTPS.',
};

const CONNECTION: Record<string, (ctx: AdviceContext) => Omit<Diagnosis, 'kind'>> = {
  ECONNREFUSED: (ctx) => ({
    detail: `connection refused: nothing listens on ${ctx.target}${ctx.assumedPort ? `:${ctx.assumedPort} (no port given, ${ctx.assumedPort} assumed)` : ''}`,
    advice: 'Check the port and the exposure: the registry Service port, the ingress-nginx tcp map ("<port>": "<ns>/<svc>:<port>") '
      + `and that the controller Service actually opened that port (the ports ingress-nginx reserves, ${RESERVED_INGRESS_NGINX_PORTS.join(', ')}, are skipped), `
      + 'and that the registry pod is running.',
  }),
  ECONNRESET: () => ({
    detail: 'connection reset by the server or a proxy',
    advice: 'An L4 proxy with no healthy upstream (tcp-services pointing at a wrong service/port) or a TLS-terminating proxy in the way resets connections. Check the registry pod log and the proxy upstream.',
  }),
  ETIMEDOUT: () => ({
    detail: 'timed out: no answer',
    advice: 'A firewall or security group drops the traffic, or the registry is stuck. Raise --timeout for slow links.',
  }),
  ENOTFOUND: (ctx) => ({ detail: `cannot resolve ${ctx.target}`, advice: 'Check the DNS name (the one in the certificate SANs).' }),
  EHOSTUNREACH: () => ({ detail: 'host unreachable', advice: 'Check routing/firewall to the node or load balancer.' }),
};

/** Advice for an HTTP status the registry (or a proxy in front) answered. */
export function adviceForStatus(status: number, code?: string): string | undefined {
  if (status === 401) {
    return 'Wrong user or password, or the htpasswd entry is not bcrypt (only bcrypt lines are accepted: '
      + '`htpasswd -nB user`, or the stack\'s generated passwords). The file is re-read without restart.';
  }
  if (status === 403) {
    return 'The credentials are valid but not allowed here: the user\'s role does not cover this action on this '
      + 'repository (registry_roles: pull-only users cannot push or delete, only admins delete; docs/security.md).';
  }
  if (status === 413) {
    return 'An HTTP proxy with a body size limit is in front of the registry. For an ingress-nginx HTTP Ingress set '
      + 'the annotation nginx.ingress.kubernetes.io/proxy-body-size: "0", or use the TCP exposure (L4, no limit).';
  }
  if (code === 'BLOB_UPLOAD_INVALID' || code === 'BLOB_UPLOAD_UNKNOWN') {
    return 'Upload state was lost between requests: with several replicas http.secret must be identical on all of them '
      + '(the stack sets one from a secret), or uploads are purged/stored on a non-shared volume.';
  }
  if (status === 404 && code === 'NAME_UNKNOWN') return 'The repository does not exist (yet).';
  if (status === 405 || code === 'UNSUPPORTED') return 'The registry refuses this operation (read-only mode, deletes disabled, or a pull-through cache).';
  if (status === 503) return 'The registry reports a failing health check, usually storage: check the volume/bucket, permissions (uid 1000 on a hostPath, SELinux) and the pod log.';
  if (status >= 500) return 'The registry failed: read its log (storage permissions, full disk, S3 redirect/signature errors: storage.redirect.disable).';
  return undefined;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Turns any error thrown in a step into a diagnosis; `stepKind` is used when nothing more specific applies. */
export function diagnose(err: unknown, stepKind: FailureKind, ctx: AdviceContext): Diagnosis {
  const message = err instanceof Error ? err.message : String(err);
  const code = errorCode(err);
  if (code === 'EHTTPONTLS' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/.test(message)) {
    return { kind: 'tls', ...HTTP_ON_TLS };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return hostnameMismatch(message, ctx);
  if (code && /^[A-Z_]+$/.test(code) && (UNKNOWN_AUTHORITY.has(code) || code.startsWith('CERT_'))) return diagnoseCertificate(code, ctx);
  if (code && CONNECTION[code]) return { kind: 'connection', ...CONNECTION[code](ctx) };
  if (err instanceof RegistryHttpError) {
    const kind = err.status === 401 || err.status === 403 ? 'auth' : err.status === 503 ? 'connection' : stepKind;
    return { kind, detail: message, advice: adviceForStatus(err.status, err.code) };
  }
  return { kind: stepKind, detail: message };
}
