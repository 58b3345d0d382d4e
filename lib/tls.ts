import { Construct } from 'constructs';
import { Fn, type IResolvable, Op, Token } from 'cdktf';
import { PrivateKey } from '@cdktf/provider-tls/lib/private-key';
import { SelfSignedCert } from '@cdktf/provider-tls/lib/self-signed-cert';
import { CertRequest } from '@cdktf/provider-tls/lib/cert-request';
import { LocallySignedCert } from '@cdktf/provider-tls/lib/locally-signed-cert';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { DataTlsCertificate } from '@cdktf/provider-tls/lib/data-tls-certificate';
import { CertManagerCertificate } from './certificates/cert-manager';
import { CERT_MANAGER_CA_GIVEN } from './hcl';
import { componentLabels } from './labels';
import type { StackVariables } from './variables/stack-variables';

/** The CA outlives many leaf renewals, so nodes that trust it keep trusting the registry. */
export const CA_VALIDITY_HOURS = 87600;
const CA_EARLY_RENEWAL_HOURS = 8760;

export interface ProvidedPems {
  readonly certificate: string;
  readonly privateKey: string;
  readonly ca: string;
}

/** Where the certificate comes from. */
export type TlsMode =
  /** The tls provider makes a CA and a leaf certificate signed by it. */
  | 'generated'
  /** The operator supplies certificate, key and CA PEMs (sensitive variables). */
  | 'provided'
  /** A cert-manager Certificate (issuer named by variables) makes the Secret; cert-manager renews it. */
  | 'cert-manager';

export const TLS_MODES: readonly TlsMode[] = ['generated', 'provided', 'cert-manager'];

interface TlsCommonProps {
  readonly namespace: string;
  readonly secretName: string;
}

export interface GeneratedTlsProps extends TlsCommonProps {
  readonly mode: 'generated';
  /** DNS names clients use (SANs of the leaf; the first is its common name). */
  readonly dnsNames: string[];
  /** IP addresses clients use (SANs of the leaf). */
  readonly ipAddresses: string[];
  /** Leaf validity. */
  readonly validityHours: number;
  /** Renew the leaf this many hours before it expires (on the next apply). */
  readonly earlyRenewalHours: number;
  /**
   * Common name of the generated CA.
   * @default "private-registry-stack CA"
   */
  readonly caCommonName?: string;
}

export interface ProvidedTlsProps extends TlsCommonProps {
  readonly mode: 'provided';
  readonly provided: ProvidedPems;
}

export interface CertManagerTlsProps extends TlsCommonProps {
  readonly mode: 'cert-manager';
  /** Name of the Certificate (the registry's app name). */
  readonly certificateName: string;
  /** DNS names clients use (SANs). An ACME issuer validates each, so only names it can prove belong here. */
  readonly dnsNames: string[];
  /** IP addresses clients use (SANs; a private CA issuer only: ACME refuses them). */
  readonly ipAddresses: string[];
  readonly issuerName: string;
  /** `Issuer` (in the registry's namespace) or `ClusterIssuer`. */
  readonly issuerKind: string;
  /**
   * PEM of the CA behind the issuer, for node trust and the Gateway's check of the registry; "" for a public issuer
   * (ACME): clients and nodes trust it already.
   */
  readonly caPem: string;
}

export type RegistryTlsProps = GeneratedTlsProps | ProvidedTlsProps | CertManagerTlsProps;

/**
 * The registry's TLS material as one `kubernetes.io/tls` secret with `tls.crt`, `tls.key` and `ca.crt`.
 * The leaf always carries SANs: clients reject CN-only certificates.
 */
export class RegistryTls extends Construct {
  /** The Secret this stack writes (generated and provided modes; cert-manager writes its own). */
  public readonly secret?: SecretV1;
  /** The cert-manager Certificate (cert-manager mode). */
  public readonly certificate?: CertManagerCertificate;
  /** Name of the `kubernetes.io/tls` Secret the registry mounts. */
  public readonly secretName: string;
  /**
   * What the pod template's content hash covers, so the pod rolls when the TLS material changes in this apply: the
   * Secret's data, or, with cert-manager, the Certificate's spec (renewals reach the pod without a roll).
   */
  public readonly rolloutInput: unknown;
  /** PEM of the CA clients and nodes must trust ("" with a public cert-manager issuer: they trust it already). */
  public readonly caPem: string;
  /**
   * The same, not marked sensitive: the CA certificate is public material (nodes and clients must read it), but a
   * provided one arrives in a sensitive variable, so it is explicitly declassified.
   */
  public get publicCaPem(): string {
    return this.mode === 'provided' ? Fn.nonsensitive(this.caPem) : this.caPem;
  }
  private readonly mode: TlsMode;
  /**
   * Whether there is a CA to check the registry with: true, or with cert-manager a Terraform condition (the CA PEM
   * variable is set; a public issuer's certificate is checked against the system roots instead).
   */
  public readonly hasCa: boolean | IResolvable;
  /** `hasCa` as HCL text for templates (cert-manager mode only; the CA is always there otherwise). */
  public readonly caGiven?: string;
  /**
   * When the served (leaf) certificate expires, RFC 3339. A generated leaf is renewed only by an apply inside its
   * early-renewal window: schedule one (docs/operations.md, Certificate renewal).
   * @default - unknown to Terraform: cert-manager renews the certificate (its Certificate status has notAfter)
   */
  public readonly expiresAt?: string;

  constructor(scope: Construct, id: string, props: RegistryTlsProps) {
    super(scope, id);
    this.mode = props.mode;
    if (props.mode === 'cert-manager') {
      this.certificate = new CertManagerCertificate(this, 'certificate', {
        name: props.certificateName,
        namespace: props.namespace,
        secretName: props.secretName,
        dnsNames: props.dnsNames,
        ipAddresses: props.ipAddresses,
        issuerName: props.issuerName,
        issuerKind: props.issuerKind,
      });
      // A CA certificate is public: the variable is declassified once, here (counts and outputs read it).
      this.caPem = Token.isUnresolved(props.caPem) ? Fn.nonsensitive(props.caPem) : props.caPem;
      this.hasCa = Token.isUnresolved(props.caPem) ? Op.gte(Fn.lengthOf(this.caPem), 1) : props.caPem !== '';
      this.caGiven = Token.isUnresolved(props.caPem) ? CERT_MANAGER_CA_GIVEN : String(props.caPem !== '');
      // The release's name, not a literal: the Deployment that mounts the Secret is created after the Certificate.
      this.secretName = Fn.element([props.secretName, this.certificate.release.name], 0);
      this.rolloutInput = this.certificate.certificate.spec;
      return;
    }
    let certificate: string;
    let privateKey: string;
    if (props.mode === 'provided') {
      ({ certificate, privateKey, ca: this.caPem } = props.provided);
      // Read from the PEM itself at plan time (no network: `content`, not `url`).
      const parsed = new DataTlsCertificate(this, 'provided-certificate', { content: certificate });
      this.expiresAt = parsed.certificates.get(0).notAfter;
    } else {
      const caKey = new PrivateKey(this, 'ca-key', { algorithm: 'ECDSA', ecdsaCurve: 'P256' });
      const ca = new SelfSignedCert(this, 'ca', {
        privateKeyPem: caKey.privateKeyPem,
        isCaCertificate: true,
        allowedUses: ['cert_signing', 'crl_signing', 'digital_signature'],
        subject: [{ commonName: props.caCommonName ?? 'private-registry-stack CA', organization: 'private-registry-stack' }],
        validityPeriodHours: CA_VALIDITY_HOURS,
        earlyRenewalHours: CA_EARLY_RENEWAL_HOURS,
        setSubjectKeyId: true,
      });
      const leafKey = new PrivateKey(this, 'leaf-key', { algorithm: 'ECDSA', ecdsaCurve: 'P256' });
      const request = new CertRequest(this, 'leaf-request', {
        privateKeyPem: leafKey.privateKeyPem,
        subject: [{ commonName: Fn.element(props.dnsNames, 0), organization: 'private-registry-stack' }],
        dnsNames: props.dnsNames,
        ipAddresses: props.ipAddresses,
      });
      const leaf = new LocallySignedCert(this, 'leaf', {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: ca.certPem,
        allowedUses: ['digital_signature', 'key_encipherment', 'server_auth'],
        validityPeriodHours: props.validityHours,
        earlyRenewalHours: props.earlyRenewalHours,
        setSubjectKeyId: true,
      });
      certificate = leaf.certPem;
      privateKey = leafKey.privateKeyPem;
      this.caPem = ca.certPem;
      this.expiresAt = leaf.validityEndTime;
    }
    this.secret = new SecretV1(this, 'secret', {
      metadata: { name: props.secretName, namespace: props.namespace, labels: componentLabels('tls') },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': certificate, 'tls.key': privateKey, 'ca.crt': this.caPem },
    });
    this.secretName = this.secret.metadata.name;
    this.hasCa = true;
    this.rolloutInput = this.secret.data;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * A stack's TLS source: generated (CA + leaf, with its lifetime variables), provided PEMs (their variables), or a
 * cert-manager Certificate (issuer variables). `dnsNames` are the client names; `serviceNames` the in-cluster ones,
 * which a private CA certifies but an ACME issuer cannot, so cert-manager's Certificate names only the client names.
 */
export function tlsSource(
  mode: TlsMode, vars: StackVariables, names: { dnsNames: string[]; serviceNames: string[]; ipAddresses: string[]; certificateName: string },
): DistributiveOmit<RegistryTlsProps, 'namespace' | 'secretName'> {
  const { ipAddresses } = names;
  if (mode === 'cert-manager') {
    return {
      mode: 'cert-manager',
      certificateName: names.certificateName,
      dnsNames: names.dnsNames,
      ipAddresses,
      issuerName: vars.string('cert_manager_issuer_name'),
      issuerKind: vars.string('cert_manager_issuer_kind'),
      caPem: vars.string('cert_manager_ca_pem'),
    };
  }
  const dnsNames = Fn.concat([names.dnsNames, names.serviceNames]);
  if (mode === 'provided') {
    return {
      mode: 'provided',
      provided: {
        certificate: vars.string('tls_certificate_pem'),
        privateKey: vars.string('tls_private_key_pem'),
        ca: vars.string('tls_ca_pem'),
      },
    };
  }
  return {
    mode: 'generated',
    dnsNames,
    ipAddresses,
    validityHours: vars.number('cert_validity_hours'),
    earlyRenewalHours: vars.number('cert_early_renewal_hours'),
  };
}
