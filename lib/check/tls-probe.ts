import * as net from 'node:net';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';

export interface TlsProbeOptions {
  readonly host: string;
  readonly port: number;
  readonly caPem?: string | Buffer;
  readonly timeoutMs?: number;
}

/** What the handshake showed. The probe itself never rejects a certificate: the caller judges. */
export interface TlsProbeResult {
  readonly protocol: string;
  readonly cipher: string;
  readonly subject: string;
  readonly issuer: string;
  readonly subjectAltNames: string[];
  /** notAfter as OpenSSL prints it (`Nov 27 22:28:05 2026 GMT`). */
  readonly validTo: string;
  /** notAfter as a date; undefined if Node's text did not parse. */
  readonly notAfter?: Date;
  /** OpenSSL's verdict on the chain against the CA (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE), undefined when trusted. */
  readonly chainError?: string;
  /** Why the certificate does not name the host (SAN mismatch), undefined when it does. */
  readonly hostnameError?: string;
}

/** The server answered the TLS ClientHello with plain HTTP: a TLS client hitting a plain HTTP port. */
export class HttpOnTlsPortError extends Error {
  readonly code = 'EHTTPONTLS';
  constructor(readonly firstBytes: string) {
    super(`server gave HTTP response to HTTPS client (it answered the TLS handshake with "${firstBytes}")`);
    this.name = 'HttpOnTlsPortError';
  }
}

function connectTcp(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(Object.assign(new Error(`TCP connect to ${host}:${port} timed out`), { code: 'ETIMEDOUT' })));
    socket.once('connect', () => {
      socket.setTimeout(0);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A pass-through duplex over the TCP socket that remembers the first bytes the server sent. */
function tap(raw: net.Socket): { stream: Duplex; firstBytes: () => Buffer } {
  let first = Buffer.alloc(0);
  const stream = new Duplex({
    read: () => void raw.resume(),
    write: (chunk, encoding, callback) => void raw.write(chunk, encoding, callback),
    final: (callback) => {
      raw.end();
      callback();
    },
    destroy: (err, callback) => {
      raw.destroy();
      callback(err);
    },
  });
  raw.on('data', (data: Buffer) => {
    if (first.length < 32) first = Buffer.concat([first, data]).subarray(0, 32);
    if (!stream.push(data)) raw.pause();
  });
  raw.once('end', () => stream.push(null));
  raw.once('error', (err) => stream.destroy(err));
  return { stream, firstBytes: () => first };
}

function describeName(name: tls.PeerCertificate['subject'] | undefined): string {
  if (!name) return '';
  return Object.entries(name).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(', ');
}

/**
 * Handshakes with host:port (SNI = host unless it is an IP), verifies the chain against `caPem` (or Node's public
 * roots) and the host name against the SANs, and reports instead of throwing on certificate problems.
 * Rejects on connection errors, and with HttpOnTlsPortError when the server answers in plain HTTP.
 */
export async function probeTls(options: TlsProbeOptions): Promise<TlsProbeResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const raw = await connectTcp(options.host, options.port, timeoutMs);
  const { stream, firstBytes } = tap(raw);
  return new Promise<TlsProbeResult>((resolve, reject) => {
    const fail = (err: Error) => {
      const seen = firstBytes().toString('latin1');
      reject(seen.startsWith('HTTP/') ? new HttpOnTlsPortError(seen.split('\r\n')[0]) : err);
    };
    const socket = tls.connect({
      socket: stream,
      servername: net.isIP(options.host) ? undefined : options.host,
      ca: options.caPem,
      rejectUnauthorized: false,
    });
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(Object.assign(new Error(`TLS handshake with ${options.host}:${options.port} timed out`), { code: 'ETIMEDOUT' })));
    socket.once('error', fail);
    socket.once('close', () => fail(new Error('connection closed during the TLS handshake')));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      const hostnameError = tls.checkServerIdentity(options.host, cert);
      const cipher = socket.getCipher();
      // Node reports a host name mismatch as authorizationError too; that one is hostnameError's to tell.
      const chainError = socket.authorized ? undefined : String(socket.authorizationError ?? 'certificate not trusted');
      resolve({
        protocol: socket.getProtocol() ?? 'unknown',
        cipher: cipher?.name ?? 'unknown',
        subject: describeName(cert.subject),
        issuer: describeName(cert.issuer),
        subjectAltNames: cert.subjectaltname ? cert.subjectaltname.split(', ') : [],
        validTo: cert.valid_to,
        notAfter: Number.isNaN(Date.parse(cert.valid_to)) ? undefined : new Date(cert.valid_to),
        chainError: chainError === 'ERR_TLS_CERT_ALTNAME_INVALID' ? undefined : chainError,
        hostnameError: hostnameError?.message,
      });
      socket.end();
    });
  });
}
