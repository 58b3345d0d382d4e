import * as http from 'node:http';
import * as https from 'node:https';
import { Readable } from 'node:stream';

/** How to reach and authenticate to one registry. */
export interface ClientOptions {
  readonly host: string;
  /** @default 443 */
  readonly port?: number;
  readonly username?: string;
  readonly password?: string;
  /** CA bundle (PEM) to verify the registry certificate; @default - Node's built-in public roots */
  readonly caPem?: string | Buffer;
  /** Skip certificate verification. @default false */
  readonly insecure?: boolean;
  /** Idle timeout per request (no bytes moving), in milliseconds. @default 30000 */
  readonly timeoutMs?: number;
}

export interface RequestOptions {
  readonly headers?: http.OutgoingHttpHeaders;
  /** A Buffer/string is sent with its length; a stream is piped (set content-length yourself if known). */
  readonly body?: Buffer | string | Readable;
  /** Send no credentials, even when the client has some. */
  readonly anonymous?: boolean;
}

/** A response whose body is still a stream: read it with `text()`/`json()`, consume it, or `drain()` it. */
export interface RegistryResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: http.IncomingMessage;
  bytes(limitBytes?: number): Promise<Buffer>;
  text(limitBytes?: number): Promise<string>;
  drain(): Promise<void>;
}

/** A registry answer that was not the one expected; `code` is the first distribution error code, if any. */
export class RegistryHttpError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly code: string | undefined,
    readonly registryMessage: string,
  ) {
    super(`${method} ${path} -> HTTP ${status}${code ? ` ${code}` : ''}${registryMessage ? `: ${registryMessage}` : ''}`);
    this.name = 'RegistryHttpError';
  }
}

/** Extracts `CODE: message` from a distribution error body `{"errors":[{code,message,detail}]}`. */
export function parseRegistryError(text: string): { code?: string; message: string } {
  try {
    const first = (JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> }).errors?.[0];
    if (first) return { code: first.code, message: first.message ?? '' };
  } catch {
    // not JSON: an HTML page from a proxy, for instance
  }
  return { message: text.replace(/\s+/g, ' ').trim().slice(0, 200) };
}

function wrapResponse(res: http.IncomingMessage): RegistryResponse {
  const bytes = async (limitBytes = 1 << 20) => {
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limitBytes) {
        res.destroy();
        throw new Error(`response body larger than ${limitBytes} bytes`);
      }
      parts.push(chunk);
    }
    return Buffer.concat(parts);
  };
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    body: res,
    bytes,
    text: async (limitBytes?: number) => (await bytes(limitBytes)).toString('utf8'),
    drain: async () => {
      for await (const _ of res) void _;
    },
  };
}

function timeoutError(ms: number, what: string): Error {
  return Object.assign(new Error(`no bytes moved for ${ms} ms on ${what}`), { code: 'ETIMEDOUT' });
}

/**
 * A small HTTPS client for the OCI distribution API on one host:port: keep-alive agent with the given CA, Basic
 * auth sent up front (htpasswd registries accept it on the first request), streamed request and response bodies.
 */
export class RegistryClient {
  readonly host: string;
  readonly port: number;
  readonly origin: string;
  readonly timeoutMs: number;
  readonly hasCredentials: boolean;
  private readonly agent: https.Agent;
  private readonly authorization?: string;

  constructor(readonly options: ClientOptions) {
    this.host = options.host;
    this.port = options.port ?? 443;
    this.origin = `https://${options.host.includes(':') ? `[${options.host}]` : options.host}:${this.port}`;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 8,
      ca: options.caPem,
      rejectUnauthorized: !options.insecure,
    });
    this.hasCredentials = options.username !== undefined;
    if (options.username !== undefined) {
      const token = Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64');
      this.authorization = `Basic ${token}`;
    }
  }

  /**
   * Path + query to send for `location` (an upload URL from the registry, absolute or relative). Requests always go
   * to this client's host:port: the registry builds absolute URLs from the Host header, which proxies may rewrite.
   */
  pathOf(location: string): string {
    const url = new URL(location, this.origin);
    return `${url.pathname}${url.search}`;
  }

  request(method: string, pathOrLocation: string, options: RequestOptions = {}): Promise<RegistryResponse> {
    const path = this.pathOf(pathOrLocation);
    const headers: http.OutgoingHttpHeaders = { 'user-agent': 'registry-check', ...options.headers };
    if (!options.anonymous && this.authorization) headers.authorization = this.authorization;
    const { body } = options;
    if (typeof body === 'string' || Buffer.isBuffer(body)) headers['content-length'] = Buffer.byteLength(body);
    else if (body === undefined && ['PUT', 'POST', 'PATCH'].includes(method)) headers['content-length'] = 0;

    return new Promise<RegistryResponse>((resolve, reject) => {
      const req = https.request({ host: this.host, port: this.port, method, path, headers, agent: this.agent });
      req.setTimeout(this.timeoutMs, () => req.destroy(timeoutError(this.timeoutMs, `${method} ${path}`)));
      req.once('error', reject);
      req.once('response', (res) => {
        res.setTimeout(this.timeoutMs, () => res.destroy(timeoutError(this.timeoutMs, `${method} ${path} (response)`)));
        resolve(wrapResponse(res));
      });
      if (body instanceof Readable) {
        body.once('error', (err) => req.destroy(err));
        body.pipe(req);
      } else {
        req.end(body);
      }
    });
  }

  /** Sends a request and fails with RegistryHttpError unless the status is one of `expected`. */
  async expect(method: string, path: string, expected: number[], options?: RequestOptions): Promise<RegistryResponse> {
    const res = await this.request(method, path, options);
    if (!expected.includes(res.status)) {
      const { code, message } = parseRegistryError(await res.text().catch(() => ''));
      throw new RegistryHttpError(res.status, method, this.pathOf(path), code, message);
    }
    return res;
  }

  /** GET an absolute URL on another host (a storage redirect), without this registry's credentials. */
  getExternal(url: string): Promise<RegistryResponse> {
    return new Promise((resolve, reject) => {
      const get = url.startsWith('http:') ? http.get : https.get;
      const req = get(url, { headers: { 'user-agent': 'registry-check' } }, (res) => resolve(wrapResponse(res)));
      req.setTimeout(this.timeoutMs, () => req.destroy(timeoutError(this.timeoutMs, `GET ${url}`)));
      req.once('error', reject);
    });
  }

  /** Closes kept-alive sockets so the process can exit. */
  close(): void {
    this.agent.destroy();
  }
}
