/**
 * The registry's authorizing front: an nginx in the registry pod that terminates TLS, checks the user's password
 * (`auth_basic` against the htpasswd file) and decides per request, from the user's grants, whether it reaches the
 * registry, which listens on 127.0.0.1 only with its own auth off. Pure: no cdktf import, no secrets; the grants
 * file it includes is rendered by Terraform from the role variables (lib/auth/grants.ts).
 *
 * What is authorized is exactly what the registry routes: the route table below is distribution v3.1.0's
 * (`registry/api/v2/descriptors.go`, names from distribution/reference v0.6.0, digests from go-digest), tried in the
 * registry's order, and paths the registry would clean or decode differently (`%`, `//`, `/./`, `/../`) are refused.
 * The action a request needs is the one distribution's own token auth asks for (`registry/handlers/app.go`
 * `appendAccessRecords`): GET/HEAD pull, POST/PUT/PATCH push, DELETE delete, `_catalog` the catalog.
 */

import { reloadWatcherScript } from '../certificates/reload-watcher';
import { DRAIN_SECONDS } from './config';

/** Port the registry listens on inside the pod, on 127.0.0.1 only: nothing outside the pod reaches it. */
export const INNER_PORT = 5002;
/** Where the front container mounts things (its nginx.conf names these). */
export const FRONT_MOUNTS = {
  configDir: '/etc/nginx/front',
  tlsDir: '/etc/nginx/tls',
  authDir: '/etc/nginx/auth',
  runDir: '/run/front',
} as const;
/** The front ConfigMap's keys. */
export const FRONT_FILES = { config: 'nginx.conf', grants: 'grants.map', reloadWatcher: 'reload-watcher.sh' } as const;
/**
 * Seconds between two looks at the mounted certificate. A renewed Secret reaches the pod's volume within the kubelet's
 * sync period (about a minute); comparing two small files every 5 s costs nothing next to that.
 */
export const FRONT_RELOAD_INTERVAL_SECONDS = 5;

/** nginx as the front runs it; `-e stderr` before the config is read, or nginx opens its compiled-in log path first. */
const FRONT_NGINX = `nginx -e stderr -c ${FRONT_MOUNTS.configDir}/${FRONT_FILES.config}`;

/**
 * The front's certificate watcher (lib/certificates/reload-watcher.ts): when the TLS Secret's files change in the
 * volume (cert-manager renewed them, or anyone rewrote the Secret), `nginx -t` then a graceful `nginx -s reload`,
 * so a renewal reaches the pods with no restart and no failed request. Changes Terraform makes roll the pods anyway.
 */
export function frontReloadWatcher(): string {
  return reloadWatcherScript({
    files: [`${FRONT_MOUNTS.tlsDir}/tls.crt`, `${FRONT_MOUNTS.tlsDir}/tls.key`],
    intervalSeconds: FRONT_RELOAD_INTERVAL_SECONDS,
    testCommand: `${FRONT_NGINX} -t -q`,
    reloadCommand: `${FRONT_NGINX} -s reload`,
  });
}

/**
 * The front container's command: the watcher in the background, then nginx in the foreground as the container's
 * main process (it gets the stop signal, SIGQUIT, and drains). Not the image's entrypoint: its scripts edit
 * /etc/nginx, which is read-only here.
 */
export function frontCommand(): string[] {
  return ['sh', '-c', `sh ${FRONT_MOUNTS.configDir}/${FRONT_FILES.reloadWatcher} & exec ${FRONT_NGINX} -g 'daemon off;'`];
}

/** The realm of the Basic challenge. */
export const FRONT_REALM = 'Registry';
/**
 * nginx worker processes. Each is single-threaded: a cost-10 bcrypt (a human's password) holds one ~60 ms, a
 * cost-4 one (generated credentials) ~1 ms. Two workers keep one free while the other checks a human's password,
 * within the pod's CPU request.
 */
export const FRONT_WORKERS = 2;

/** The actions a grant names, as distribution's token auth names them (plus `base` for `/v2/` and `none`). */
export type FrontAction = 'pull' | 'push' | 'delete' | 'catalog' | 'base';

// distribution/reference v0.6.0 regexp.go, spelled for PCRE (nginx) exactly as Go's RE2 reads them.
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])`;
const DOMAIN_AND_PORT = `${HOST}(?::[0-9]+)?`;
/** reference.NameRegexp: an optional domain, then lowercase path components. */
export const NAME = `(?:${DOMAIN_AND_PORT}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
/** reference.TagRegexp (`\w` is ASCII in both RE2 and nginx's PCRE). */
const TAG = '[\\w][\\w.-]{0,127}';
/** go-digest DigestRegexp. */
const DIGEST = '[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+';
/** The upload route's `{uuid:[a-zA-Z0-9-_.=]+}` (its `-` is literal). */
const UPLOAD_ID = '[a-zA-Z0-9_.=-]+';

/** distribution v3.1.0's routes with a repository, in the order gorilla/mux tries them (the first match wins). */
export const REPOSITORY_ROUTES: ReadonlyArray<{ readonly endpoint: string; readonly path: string }> = [
  { endpoint: 'tags', path: '/tags/list' },
  { endpoint: 'manifest', path: `/manifests/(?:${TAG}|${DIGEST})` },
  { endpoint: 'blob', path: `/blobs/${DIGEST}` },
  { endpoint: 'upload', path: '/blobs/uploads/' },
  { endpoint: 'upload', path: `/blobs/uploads/${UPLOAD_ID}` },
];

/**
 * Which action each method needs on each endpoint. Methods a route's handler does not serve are left out: they
 * need `none`, which only an admin's grant covers (the registry answers them itself).
 */
export const ACTIONS: Readonly<Record<string, Partial<Record<string, FrontAction>>>> = {
  tags: { GET: 'pull', HEAD: 'pull' },
  manifest: { GET: 'pull', HEAD: 'pull', PUT: 'push', DELETE: 'delete' },
  blob: { GET: 'pull', HEAD: 'pull', DELETE: 'delete' },
  upload: { GET: 'pull', HEAD: 'pull', POST: 'push', PATCH: 'push', PUT: 'push', DELETE: 'delete' },
  base: { GET: 'base', HEAD: 'base' },
  catalog: { GET: 'catalog', HEAD: 'catalog' },
};

export interface FrontConfigOptions {
  /** Port nginx listens on with TLS (the registry port of the Service). */
  readonly port: number;
  /** Port of the registry on 127.0.0.1. */
  readonly innerPort: number;
  /** `tls.crt` and `tls.key` (the registry's kubernetes.io/tls secret). */
  readonly tlsDir: string;
  /** The htpasswd file. */
  readonly htpasswdPath: string;
  /** The grants file Terraform renders (lib/auth/grants.ts). */
  readonly grantsPath: string;
  /** A writable directory (an emptyDir): pid file, temp files, the refusal socket. */
  readonly runDir: string;
  /**
   * Where access lines go.
   * @default "/dev/stdout"
   */
  readonly accessLog?: string;
  /**
   * Where errors go.
   * @default "stderr"
   */
  readonly errorLog?: string;
  /**
   * Address to listen on (the local stand-in listens on 127.0.0.1).
   * @default - every address
   */
  readonly listenAddress?: string;
  /** @default FRONT_WORKERS */
  readonly workers?: number;
}

/** A quoted nginx string: regexes carry `{`, `;` and spaces, which nginx reads as syntax unquoted. */
const quoted = (text: string): string => {
  if (/["\n]/.test(text)) throw new Error(`internal: ${text} cannot be an nginx string`);
  return `"${text}"`;
};

const indent = (lines: string[], by = '    '): string => lines.map((l) => (l ? by + l : l)).join('\n');

/** `map <source> <variable> { <key> <value>; ... }`. */
function map(source: string, variable: string, entries: Array<[string, string]>, extra: string[] = []): string {
  return [`map ${source} ${variable} {`, indent([...extra, ...entries.map(([k, v]) => `${k} ${v};`)]), '}'].join('\n');
}

/** The nginx.conf of the front (the same text for the same options: the pod rolls when it changes). */
export function renderFrontConfig(options: FrontConfigOptions): string {
  const run = options.runDir;
  const listen = options.listenAddress ? `${options.listenAddress}:${options.port}` : String(options.port);
  const routes: Array<[string, string, string]> = [
    ...REPOSITORY_ROUTES.map(({ endpoint, path }) => [`~^/v2/(?<front_name>${NAME})${path}$`, endpoint, '$front_name'] as [string, string, string]),
    ['~^/v2/$', 'base', '""'],
    ['~^/v2/_catalog$', 'catalog', '""'],
  ];
  const actions = Object.entries(ACTIONS).flatMap(([endpoint, methods]) =>
    Object.entries(methods).map(([method, action]) => [quoted(`${method}:${endpoint}`), action!] as [string, string]));
  const error = (code: string, message: string) => JSON.stringify({ errors: [{ code, message, detail: null }] });
  const denied = error('DENIED', 'requested access to the resource is denied');
  const unauthorized = error('UNAUTHORIZED', 'authentication required');
  return `# The registry's authorizing front (rendered by lib/registry/front.ts).
worker_processes ${options.workers ?? FRONT_WORKERS};
# The image stops nginx with SIGQUIT (its STOPSIGNAL): requests in flight finish, as the registry drains its own.
worker_shutdown_timeout ${DRAIN_SECONDS}s;
pid ${run}/nginx.pid;
error_log ${options.errorLog ?? 'stderr'} warn;
events { worker_connections 1024; }

http {
    server_tokens off;
    access_log ${options.accessLog ?? '/dev/stdout'};
    client_body_temp_path ${run}/client-body;
    proxy_temp_path ${run}/proxy;
    fastcgi_temp_path ${run}/fastcgi;
    uwsgi_temp_path ${run}/uwsgi;
    scgi_temp_path ${run}/scgi;
    map_hash_bucket_size 128;

    # Paths the registry would clean or decode into another route are refused: what is authorized is what it serves.
${indent(map('$request_uri', '$front_noncanonical', [[quoted('~^[^?]*(%|//|/\\.\\.?(/|$|\\?))'), '1']], ['default 0;']).split('\n'))}

    # distribution v3.1.0's routes, in its order: the endpoint and the repository of each request.
${indent(map('$uri', '$front_endpoint', routes.map(([re, endpoint]) => [quoted(re), endpoint]), ['default none;']).split('\n'))}
${indent(map('$uri', '$front_repository', routes.map(([re, , value]) => [quoted(re), value]), ['default "";']).split('\n'))}

    # The action the request needs, as distribution's token auth asks for it; anything else needs "none".
${indent(map('"$request_method:$front_endpoint"', '$front_action', actions, ['default none;']).split('\n'))}

    # Grants: "<user>:<action>:<repository>" matched against the rendered grants file; anonymous grants have no user.
${indent(map('"$remote_user:$front_action:$front_repository"', '$front_granted', [], ['default 0;', '"~^[^:]+:base:$" 1;', `include ${options.grantsPath};`]).split('\n'))}
${indent(map('":$front_action:$front_repository"', '$front_anonymous', [], ['default 0;', `include ${options.grantsPath};`]).split('\n'))}

    # A cross-repository mount (?mount=<digest>&from=<repository>) links a blob from "from": the user must be able
    # to pull it, or the query string is dropped and the client uploads the blob itself. The registry reads "mount"
    # and "from" with Go's FormValue (exact-case keys, decoded keys, the first of repeated keys, and a form body),
    # nginx's $arg_ differently (keys ignoring case, undecoded), so an upload POST keeps its query string only in the
    # forms both read alike: none, "digest=<digest>", or "mount=<digest>&from=<name>" (either order) with "from" a
    # name the user may pull, "/" written %2F, up to four path components; and its body never reads as a form.
${indent(map('"$request_method:$front_endpoint:$args"', '$front_mount_raw', [
    [quoted(`~^POST:upload:mount=${DIGEST}&from=(?<front_fa>[^&]+)$`), '$front_fa'],
    [quoted(`~^POST:upload:from=(?<front_fb>[^&]+)&mount=${DIGEST}$`), '$front_fb'],
  ], ['default "";']).split('\n'))}
${indent(map('$front_mount_raw', '$front_mount_from', [1, 2, 3, 4].map((n) => {
    const parts = Array.from({ length: n }, (_, i) => `(?<front_m${i + 1}>${PATH_COMPONENT})`);
    return [quoted(`~^${parts.join('(?:%2[Ff]|/)')}$`), parts.map((_, i) => `$front_m${i + 1}`).join('/')] as [string, string];
  }), ['default "";']).split('\n'))}
${indent(map('"$remote_user:pull:$front_mount_from"', '$front_mount_granted', [], ['default 0;', `include ${options.grantsPath};`]).split('\n'))}
${indent(map('"$request_method:$front_endpoint:$front_mount_from:$front_mount_granted:$args"', '$front_drop_args', [
    [quoted('~^POST:upload:[^:]+:1:'), '0'],
    [quoted('~^POST:upload::[01]:$'), '0'],
    [quoted(`~^POST:upload::[01]:digest=${DIGEST}$`), '0'],
    [quoted('~^POST:upload:'), '1'],
  ], ['default 0;']).split('\n'))}
${indent(map('$front_endpoint', '$front_content_type', [['upload', quoted('application/octet-stream')]], ['default $http_content_type;']).split('\n'))}

    # Anonymous requests the grants allow skip the password check; everything else needs one.
${indent(map('$front_anonymous', '$front_auth', [['1', 'off']], [`default ${quoted(FRONT_REALM)};`]).split('\n'))}
    # Where the request goes: the registry, or the refusal below. Evaluated in the content phase, after auth_basic
    # verified $remote_user (an anonymous request goes through on its anonymous grant, never on a claimed user).
${indent(map('"$front_anonymous$front_granted"', '$front_backend', [['"~1"', 'registry']], ['default refusal;']).split('\n'))}
    # The registry's own responses carry the API version header; nginx's refusals get it too.
${indent(map('$upstream_http_docker_distribution_api_version', '$front_api_version', [['""', quoted('registry/2.0')]], ['default "";']).split('\n'))}

    upstream registry {
        server 127.0.0.1:${options.innerPort};
        keepalive 16;
    }
    upstream refusal {
        server unix:${run}/refusal.sock;
    }

    # 403 in the registry's error format: the user is known, the grant does not cover the request.
    server {
        listen unix:${run}/refusal.sock;
        access_log off;
        location / {
            default_type application/json;
            return 403 '${denied}';
        }
    }

    server {
        listen ${listen} ssl;
        ssl_certificate ${options.tlsDir}/tls.crt;
        ssl_certificate_key ${options.tlsDir}/tls.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:front_tls:10m;
        ssl_session_timeout 1h;

        # Image layers: no size limit, streamed both ways, long transfers.
        client_max_body_size 0;
        chunked_transfer_encoding on;
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_http_version 1.1;
        proxy_read_timeout 900s;
        proxy_send_timeout 900s;
        client_body_timeout 900s;
        send_timeout 900s;
        proxy_set_header Connection "";
        # Location URLs point where the client connected.
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-Proto https;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header Authorization "";
        # The upload handlers read parameters with Go's FormValue, which also parses a form body: uploads carry bytes.
        proxy_set_header Content-Type $front_content_type;
        add_header Docker-Distribution-Api-Version $front_api_version always;

        # Health (the probes): the registry's own answer, 503 when its storage is unhealthy; no credentials.
        location = / {
            # A path nginx resolves to / (say /v2/_catalog/../..) would reach the registry as written, anonymously.
            if ($front_noncanonical) {
                return 400;
            }
            auth_basic off;
            limit_except GET { deny all; }
            proxy_pass http://registry;
        }

        location / {
            if ($front_noncanonical) {
                return 400;
            }
            if ($front_drop_args) {
                set $args "";
            }
            auth_basic $front_auth;
            auth_basic_user_file ${options.htpasswdPath};
            error_page 401 @front_unauthorized;
            proxy_pass http://$front_backend;
        }

        # 401 in the registry's error format; auth_basic's Basic challenge header stays on the response.
        location @front_unauthorized {
            default_type application/json;
            add_header Docker-Distribution-Api-Version registry/2.0 always;
            return 401 '${unauthorized}';
        }
    }
}
`;
}
