/**
 * Real keys and certificates for the tls stand-in: node:crypto makes the keys, the `openssl` CLI the certificate
 * requests and certificates (`openssl ca` takes start and end dates to the second, as validity_period_hours needs).
 */
import { createHash, createPublicKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execFileLight } from '../programs/spawner';

const run = execFileLight;
type Obj = Record<string, any>;

const CURVES: Record<string, { node: string; ssh: string }> = {
  P224: { node: 'secp224r1', ssh: '' }, P256: { node: 'prime256v1', ssh: 'nistp256' },
  P384: { node: 'secp384r1', ssh: 'nistp384' }, P521: { node: 'secp521r1', ssh: 'nistp521' },
};

function sshString(data: Buffer | string): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function mpint(base64url: string): Buffer {
  let b = Buffer.from(base64url, 'base64url');
  while (b.length > 1 && b[0] === 0) b = b.subarray(1);
  return sshString(b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

interface SshKey { type: string; publicBlob: Buffer; privateFields: Buffer }

function sshKey(priv: KeyObject, algorithm: string, curve: string): SshKey | null {
  const jwk = priv.export({ format: 'jwk' }) as Obj;
  if (algorithm === 'RSA') {
    const publicBlob = Buffer.concat([sshString('ssh-rsa'), mpint(jwk.e), mpint(jwk.n)]);
    return { type: 'ssh-rsa', publicBlob, privateFields: Buffer.concat([mpint(jwk.n), mpint(jwk.e), mpint(jwk.d), mpint(jwk.qi), mpint(jwk.p), mpint(jwk.q)]) };
  }
  if (algorithm === 'ED25519') {
    const pub = Buffer.from(jwk.x, 'base64url');
    const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
    return { type: 'ssh-ed25519', publicBlob, privateFields: Buffer.concat([sshString(pub), sshString(Buffer.concat([Buffer.from(jwk.d, 'base64url'), pub]))]) };
  }
  const name = CURVES[curve].ssh;
  if (!name) return null; // OpenSSH has no P224
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  const type = `ecdsa-sha2-${name}`;
  const publicBlob = Buffer.concat([sshString(type), sshString(name), sshString(point)]);
  return { type, publicBlob, privateFields: Buffer.concat([sshString(name), sshString(point), mpint(jwk.d)]) };
}

/** The openssh-key-v1 private key format, unencrypted. */
function opensshPrivateKey(key: SshKey): string {
  const check = randomBytes(4);
  let body = Buffer.concat([check, check, sshString(key.type), key.privateFields, sshString('')]);
  const pad = (8 - (body.length % 8)) % 8;
  body = Buffer.concat([body, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const blob = Buffer.concat([Buffer.from('openssh-key-v1\0'), sshString('none'), sshString('none'), sshString(''),
    Buffer.from([0, 0, 0, 1]), sshString(key.publicBlob), sshString(body)]);
  const lines = blob.toString('base64').match(/.{1,70}/g)!.join('\n');
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** What tls_private_key and data.tls_public_key compute from a private key. */
export function publicKeyAttributes(priv: KeyObject, algorithm: string, curve: string): Obj {
  const ssh = sshKey(priv, algorithm, curve);
  const publicPem = createPublicKey(priv).export({ type: 'spki', format: 'pem' }) as string;
  return {
    public_key_pem: publicPem,
    public_key_openssh: ssh ? `${ssh.type} ${ssh.publicBlob.toString('base64')}\n` : '',
    public_key_fingerprint_md5: ssh ? createHash('md5').update(ssh.publicBlob).digest('hex').match(/../g)!.join(':') : '',
    public_key_fingerprint_sha256: ssh ? `SHA256:${createHash('sha256').update(ssh.publicBlob).digest('base64').replace(/=+$/, '')}` : '',
    private_key_openssh: ssh ? opensshPrivateKey(ssh) : '',
    id: createHash('sha1').update(publicPem).digest('hex'),
  };
}

export async function privateKey(planned: Obj): Promise<Obj> {
  const algorithm = planned.algorithm as string;
  const curve = (planned.ecdsa_curve as string | null) ?? 'P224';
  const bits = (planned.rsa_bits as number | null) ?? 2048;
  const generate = promisify(generateKeyPair) as (type: string, options: object) => Promise<{ privateKey: KeyObject }>;
  const { privateKey: priv } = algorithm === 'RSA' ? await generate('rsa', { modulusLength: bits })
    : algorithm === 'ECDSA' ? await generate('ec', { namedCurve: CURVES[curve].node })
      : await generate('ed25519', {});
  const pemType = algorithm === 'RSA' ? 'pkcs1' : algorithm === 'ECDSA' ? 'sec1' : 'pkcs8';
  return {
    ecdsa_curve: curve, rsa_bits: bits,
    private_key_pem: priv.export({ type: pemType, format: 'pem' }) as string,
    private_key_pem_pkcs8: priv.export({ type: 'pkcs8', format: 'pem' }) as string,
    ...publicKeyAttributes(priv, algorithm, curve),
  };
}

function keyAlgorithm(pem: string): string {
  const type = createPublicKey(pem).asymmetricKeyType;
  return type === 'rsa' ? 'RSA' : type === 'ec' ? 'ECDSA' : 'ED25519';
}

const SUBJECT_FIELDS: Array<[string, string]> = [
  ['country', 'C'], ['province', 'ST'], ['locality', 'L'], ['street_address', 'street'], ['postal_code', 'postalCode'],
  ['organization', 'O'], ['organizational_unit', 'OU'], ['common_name', 'CN'], ['serial_number', 'serialNumber'],
  ['email_address', 'emailAddress'],
];

function subjectArg(subject: Obj | undefined): string {
  if (!subject) return '/';
  const parts: string[] = [];
  for (const [field, short] of SUBJECT_FIELDS) {
    const values = ([] as unknown[]).concat(subject[field] ?? []);
    for (const v of values) parts.push(`/${short}=${String(v).replace(/[/\\]/g, '\\$&')}`);
  }
  return parts.join('') || '/';
}

function sanLine(dns: string[] | null, ips: string[] | null, uris: string[] | null): string {
  const names = [...(dns ?? []).map((d) => `DNS:${d}`), ...(ips ?? []).map((i) => `IP:${i}`), ...(uris ?? []).map((u) => `URI:${u}`)];
  return names.length ? `subjectAltName = ${names.join(',')}\n` : '';
}

const KEY_USAGES: Record<string, string> = {
  digital_signature: 'digitalSignature', content_commitment: 'nonRepudiation', key_encipherment: 'keyEncipherment',
  data_encipherment: 'dataEncipherment', key_agreement: 'keyAgreement', cert_signing: 'keyCertSign', crl_signing: 'cRLSign',
  encipher_only: 'encipherOnly', decipher_only: 'decipherOnly',
};
const EXTENDED_USAGES: Record<string, string> = {
  any_extended: 'anyExtendedKeyUsage', server_auth: 'serverAuth', client_auth: 'clientAuth', code_signing: 'codeSigning',
  email_protection: 'emailProtection', ipsec_end_system: 'ipsecEndSystem', ipsec_tunnel: 'ipsecTunnel', ipsec_user: 'ipsecUser',
  timestamping: 'timeStamping', ocsp_signing: 'OCSPSigning', microsoft_server_gated_crypto: 'msSGC', netscape_server_gated_crypto: 'nsSGC',
};

function extensions(planned: Obj, sans: string): string {
  const uses = (planned.allowed_uses ?? []) as string[];
  const ku = uses.filter((u) => KEY_USAGES[u]).map((u) => KEY_USAGES[u]);
  const eku = uses.filter((u) => EXTENDED_USAGES[u]).map((u) => EXTENDED_USAGES[u]);
  return [
    `basicConstraints = critical,CA:${planned.is_ca_certificate ? 'TRUE' : 'FALSE'}`,
    ku.length ? `keyUsage = critical,${ku.join(',')}` : '',
    eku.length ? `extendedKeyUsage = ${eku.join(',')}` : '',
    planned.set_subject_key_id ? 'subjectKeyIdentifier = hash' : '',
    planned.set_authority_key_id ? 'authorityKeyIdentifier = keyid' : '',
    sans.trim(),
  ].filter(Boolean).join('\n') + '\n';
}

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'standin-tls-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function asn1Time(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** Signs `csrPem` with `openssl ca`: self-signed when no CA is given. */
async function sign(planned: Obj, csrPem: string, keyPem: string, ca?: { cert: string; key: string }): Promise<Obj> {
  return inTempDir(async (dir) => {
    const hours = planned.validity_period_hours as number;
    const start = new Date(Math.floor(Date.now() / 1000) * 1000);
    const end = new Date(start.getTime() + hours * 3600_000);
    const serial = BigInt(`0x${randomBytes(16).toString('hex')}`) >> 1n;
    await Promise.all([
      writeFile(join(dir, 'index.txt'), ''),
      writeFile(join(dir, 'serial'), `${serial.toString(16).padStart(32, '0')}\n`),
      writeFile(join(dir, 'csr.pem'), csrPem),
      writeFile(join(dir, 'key.pem'), keyPem),
      writeFile(join(dir, 'ext.cnf'), extensions(planned, '')),
      ca ? writeFile(join(dir, 'ca.pem'), ca.cert) : Promise.resolve(),
      writeFile(join(dir, 'ca.cnf'), `[ca]\ndefault_ca = standin\n[standin]\ndatabase = ${dir}/index.txt\nnew_certs_dir = ${dir}\nserial = ${dir}/serial\n` +
        `policy = anything\nunique_subject = no\ncopy_extensions = copy\ndefault_md = default\n[anything]\ncommonName = optional\n`),
    ]);
    const keyFile = join(dir, ca ? 'cakey.pem' : 'key.pem');
    if (ca) await writeFile(keyFile, ca.key);
    await run('openssl', ['ca', '-batch', '-notext', '-preserveDN', '-config', join(dir, 'ca.cnf'), '-in', join(dir, 'csr.pem'),
      '-keyfile', keyFile, ...(ca ? ['-cert', join(dir, 'ca.pem')] : ['-selfsign']),
      '-startdate', asn1Time(start), '-enddate', asn1Time(end), '-extfile', join(dir, 'ext.cnf'),
      '-out', join(dir, 'cert.pem')]);
    const certPem = (await readFile(join(dir, 'cert.pem'), 'utf8')).replace(/^[\s\S]*?(?=-----BEGIN CERTIFICATE-----)/, '');
    const early = (planned.early_renewal_hours as number | null) ?? 0;
    return {
      cert_pem: certPem,
      validity_start_time: start.toISOString().replace(/\.\d+Z$/, 'Z'),
      validity_end_time: end.toISOString().replace(/\.\d+Z$/, 'Z'),
      ready_for_renewal: early >= hours,
      early_renewal_hours: early,
      is_ca_certificate: planned.is_ca_certificate ?? false,
      set_subject_key_id: planned.set_subject_key_id ?? false,
      set_authority_key_id: planned.set_authority_key_id ?? false,
      id: serial.toString(),
    };
  });
}

async function certRequestPem(keyPem: string, subject: Obj | undefined, sans: string): Promise<string> {
  return inTempDir(async (dir) => {
    await writeFile(join(dir, 'key.pem'), keyPem);
    await writeFile(join(dir, 'req.cnf'), `[req]\ndistinguished_name = dn\nreq_extensions = ext\nprompt = no\n[dn]\n[ext]\n${sans}`);
    const { stdout } = await run('openssl', ['req', '-new', '-key', join(dir, 'key.pem'), '-subj', subjectArg(subject), '-config', join(dir, 'req.cnf')]);
    return stdout;
  });
}

export async function selfSignedCert(planned: Obj): Promise<Obj> {
  const sans = sanLine(planned.dns_names, planned.ip_addresses, planned.uris);
  const csr = await certRequestPem(planned.private_key_pem, planned.subject?.[0], sans);
  return { key_algorithm: keyAlgorithm(planned.private_key_pem), ...(await sign(planned, csr, planned.private_key_pem)) };
}

export async function certRequest(planned: Obj): Promise<Obj> {
  const sans = sanLine(planned.dns_names, planned.ip_addresses, planned.uris);
  const pem = await certRequestPem(planned.private_key_pem, planned.subject?.[0], sans);
  return { cert_request_pem: pem, key_algorithm: keyAlgorithm(planned.private_key_pem), id: createHash('sha1').update(pem).digest('hex') };
}

export async function locallySignedCert(planned: Obj): Promise<Obj> {
  return {
    ca_key_algorithm: keyAlgorithm(planned.ca_private_key_pem),
    ...(await sign(planned, planned.cert_request_pem, planned.ca_private_key_pem, { cert: planned.ca_cert_pem, key: planned.ca_private_key_pem })),
  };
}
