/**
 * Stand-in Terraform providers (kubernetes 2.38.0, helm 3.1.1, tls 4.1.0, random 3.7.2) that the real terraform
 * loads offline, served from the calling (test) process:
 * - a filesystem mirror whose `terraform-provider-*` executables are tiny shell scripts: each hands terraform's
 *   launch (magic cookie, AutoMTLS client certificate, STANDIN_DRIFT_FILE) to this process over a unix socket with
 *   curl and streams back the go-plugin handshake line, so no node starts per provider launch;
 * - per launch, a gRPC server on 127.0.0.1 (server.ts) that exits on GRPCController.Shutdown;
 * - one long-lived gRPC server per provider that terraform attaches to instead of launching (`attachedEnv`:
 *   TF_REATTACH_PROVIDERS, go-plugin's reattach), which halves a plan's CPU (no launch, handshake or TLS per
 *   command). `terraform init` ignores attached providers (no lock file entry), so it runs with `env`.
 * See harness/providers/README.md.
 */
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, type Launch } from './server';
import { PROVIDERS, type ProviderName } from './schema-source';
import { execFileLight } from '../programs/spawner';

const run = execFileLight;

/** go-plugin's handshake cookie for Terraform providers. */
const MAGIC_COOKIE = 'd602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2';

export interface StandInProviders {
  /** Environment for terraform: TF_CLI_CONFIG_FILE (the mirror; no plugin cache: concurrent inits race on it), CHECKPOINT_DISABLE, ... */
  readonly env: NodeJS.ProcessEnv;
  /**
   * `env` plus TF_REATTACH_PROVIDERS: terraform uses the providers already running in this process instead of
   * launching them (harness/terraform.ts TerraformStack runs `init`, and commands that inject drift, with `env`).
   */
  readonly attachedEnv: NodeJS.ProcessEnv;
  /** RPC names served so far, with counts (for notes on what terraform calls). */
  readonly calls: Map<string, number>;
  stop(): Promise<void>;
}

/** A server certificate for AutoMTLS: SAN DNS:localhost, CA:true, serverAuth (terraform pins it as its root). */
async function serverCertificate(dir: string): Promise<{ certPem: string; keyPem: string; certDer: Buffer }> {
  const config = join(dir, 'server-cert.cnf');
  await writeFile(config, '[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n[dn]\nCN = localhost\n' +
    '[ext]\nsubjectAltName = DNS:localhost\nbasicConstraints = critical,CA:TRUE\nkeyUsage = digitalSignature,keyCertSign\nextendedKeyUsage = serverAuth\n');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-config', config, '-keyout', join(dir, 'server-key.pem'), '-out', join(dir, 'server-cert.pem')]);
  const certPem = await readFile(join(dir, 'server-cert.pem'), 'utf8');
  return { certPem, keyPem: await readFile(join(dir, 'server-key.pem'), 'utf8'), certDer: Buffer.from(new X509Certificate(certPem).raw) };
}

function launcherScript(name: string): string {
  return `#!/bin/sh
# Stand-in terraform provider "${name}" (private-registry-stack harness/providers): served by the test process.
[ -S "$STANDIN_PROVIDERS_SOCKET" ] || { echo "stand-in provider ${name}: STANDIN_PROVIDERS_SOCKET names no running server (startStandInProviders)" >&2; exit 1; }
printf '%s' "$PLUGIN_CLIENT_CERT" | exec curl -sSN --max-time 900 --unix-socket "$STANDIN_PROVIDERS_SOCKET" \\
  -H "X-Magic-Cookie: $TF_PLUGIN_MAGIC_COOKIE" -H "X-Drift-File: $STANDIN_DRIFT_FILE" \\
  --data-binary @- http://stand-in/launch/${name}
`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts the stand-in providers' server and writes their mirror and CLI configuration into a temp directory. */
export async function startStandInProviders(): Promise<StandInProviders> {
  const dir = await mkdtemp(join(tmpdir(), 'standin-providers-'));
  const socket = join(dir, 'providers.sock');
  const mirror = join(dir, 'mirror');
  const [server] = await Promise.all([serverCertificate(dir), ...Object.entries(PROVIDERS).map(async ([name, { version }]) => {
    const bin = join(mirror, 'registry.terraform.io', 'hashicorp', name, version, 'linux_amd64');
    await mkdir(bin, { recursive: true });
    const file = join(bin, `terraform-provider-${name}_v${version}`);
    await writeFile(file, launcherScript(name));
    await chmod(file, 0o755);
  })]);
  const cliConfig = join(dir, 'terraform.rc');
  await writeFile(cliConfig, `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n` +
    `    include = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n`);

  const calls = new Map<string, number>();
  const launches = new Set<Launch>();
  const http = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const name = /^\/launch\/(\w+)$/.exec(req.url ?? '')?.[1] as ProviderName | undefined;
    const body = await readBody(req);
    if (!name || !(name in PROVIDERS) || req.headers['x-magic-cookie'] !== MAGIC_COOKIE) {
      res.writeHead(400).end('This binary is a plugin. These are not meant to be executed directly.\n');
      return;
    }
    try {
      const driftFile = String(req.headers['x-drift-file'] ?? '') || undefined;
      const l = await launch(name, body || undefined, server, { driftFile, onCall: (rpc) => calls.set(rpc, (calls.get(rpc) ?? 0) + 1) });
      launches.add(l);
      const end = () => {
        l.close();
        launches.delete(l);
        if (!res.writableEnded) res.end();
      };
      res.on('close', end);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(`${l.handshake}\n`);
      // go-plugin waits for the process to exit after Shutdown: end the response, curl exits.
      l.shutdown.then(() => setImmediate(end));
    } catch (e) {
      res.writeHead(500).end(`stand-in provider ${name}: ${(e as Error).stack ?? e}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => http.once('error', reject).listen(socket, resolve));
  // Attached providers: plain gRPC on 127.0.0.1 (a reattach config carries no certificate), never shut down by
  // terraform (`Test: true`: terraform neither kills `Pid` nor waits for it).
  const attached = await Promise.all(Object.keys(PROVIDERS).map(async (name) => {
    const l = await launch(name as ProviderName, undefined, server, { onCall: (rpc) => calls.set(rpc, (calls.get(rpc) ?? 0) + 1) });
    const address = /\|tcp\|([^|]+)\|/.exec(l.handshake)![1];
    return { name, l, config: { Protocol: 'grpc', ProtocolVersion: 6, Pid: process.pid, Test: true, Addr: { Network: 'tcp', String: address } } };
  }));
  const env = {
    TF_CLI_CONFIG_FILE: cliConfig,
    CHECKPOINT_DISABLE: '1',
    TF_IN_AUTOMATION: '1',
    STANDIN_PROVIDERS_SOCKET: socket,
  };
  const reattach = Object.fromEntries(attached.map((a) => [`registry.terraform.io/hashicorp/${a.name}`, a.config]));
  return {
    env,
    attachedEnv: { ...env, TF_REATTACH_PROVIDERS: JSON.stringify(reattach) },
    calls,
    async stop() {
      for (const a of attached) a.l.close();
      for (const l of launches) l.close();
      http.closeAllConnections?.();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

