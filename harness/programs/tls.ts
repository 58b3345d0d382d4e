import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { execFileAsync } from './process';

/**
 * TLS material equivalent to what the stack's tls provider resources produce: an ECDSA P-256 self-signed CA
 * (CA:true, keyCertSign+cRLSign) and an ECDSA P-256 leaf signed by it with SANs, digitalSignature+keyEncipherment,
 * extendedKeyUsage serverAuth. Keys are SEC1 PEM ("EC PRIVATE KEY"), like tls_private_key.private_key_pem.
 */
export interface TlsMaterial {
  readonly caCertPath: string;
  readonly caKeyPath: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** A directory holding only `ca.crt`, the layout skopeo/podman/containerd expect (`--cert-dir`). */
  readonly certDir: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface TlsOptions {
  /** @default ['localhost'] */
  readonly dnsNames?: string[];
  /** @default ['127.0.0.1'] */
  readonly ipAddresses?: string[];
  /** @default 'registry-e2e' */
  readonly commonName?: string;
  /** @default 365 (registry-check warns within 30 days of expiry) */
  readonly validityDays?: number;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  await execFileAsync('openssl', args, { cwd });
}

export async function makeTlsMaterial(dir: string, options: TlsOptions = {}): Promise<TlsMaterial> {
  const dnsNames = options.dnsNames ?? ['localhost'];
  const ipAddresses = options.ipAddresses ?? ['127.0.0.1'];
  const days = String(options.validityDays ?? 365);
  const sans = [...dnsNames.map((n) => `DNS:${n}`), ...ipAddresses.map((ip) => `IP:${ip}`)];
  if (sans.length === 0) throw new Error('makeTlsMaterial: give at least one DNS name or IP address');
  await fs.mkdir(dir, { recursive: true });
  const configPath = path.join(dir, 'openssl.cnf');
  await fs.writeFile(
    configPath,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      `CN = ${options.commonName ?? 'registry-e2e'}`,
      '[ca_ext]',
      'basicConstraints = critical,CA:true',
      'keyUsage = critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier = hash',
      '[leaf_ext]',
      'basicConstraints = critical,CA:false',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage = serverAuth',
      'authorityKeyIdentifier = keyid',
      `subjectAltName = ${sans.join(',')}`,
      '',
    ].join('\n'),
  );
  const p = (name: string) => path.join(dir, name);
  const genKey = (out: string) => openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', out]);
  await Promise.all([genKey(p('ca.key')), genKey(p('tls.key'))]);
  await openssl(dir, ['req', '-x509', '-new', '-config', configPath, '-extensions', 'ca_ext', '-subj', '/CN=registry-e2e CA',
    '-key', p('ca.key'), '-sha256', '-days', days, '-out', p('ca.crt')]);
  await openssl(dir, ['req', '-new', '-config', configPath, '-key', p('tls.key'), '-out', p('tls.csr')]);
  await openssl(dir, ['x509', '-req', '-in', p('tls.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-set_serial',
    `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`, '-sha256', '-days', days,
    '-extfile', configPath, '-extensions', 'leaf_ext', '-out', p('tls.crt')]);
  const certDir = p('certs.d');
  await fs.mkdir(certDir, { recursive: true });
  await fs.copyFile(p('ca.crt'), path.join(certDir, 'ca.crt'));
  const [caPem, certPem, keyPem] = await Promise.all(['ca.crt', 'tls.crt', 'tls.key'].map((f) => fs.readFile(p(f), 'utf8')));
  return { caCertPath: p('ca.crt'), caKeyPath: p('ca.key'), certPath: p('tls.crt'), keyPath: p('tls.key'), certDir, caPem, certPem, keyPem };
}
