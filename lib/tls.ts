import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { PrivateKey } from '@cdktf/provider-tls/lib/private-key';
import { SelfSignedCert } from '@cdktf/provider-tls/lib/self-signed-cert';
import { CertRequest } from '@cdktf/provider-tls/lib/cert-request';
import { LocallySignedCert } from '@cdktf/provider-tls/lib/locally-signed-cert';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { DataTlsCertificate } from '@cdktf/provider-tls/lib/data-tls-certificate';
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
  | 'provided';

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

export type RegistryTlsProps = GeneratedTlsProps | ProvidedTlsProps;

/**
 * The registry's TLS material as one `kubernetes.io/tls` secret with `tls.crt`, `tls.key` and `ca.crt`.
 * The leaf always carries SANs: clients reject CN-only certificates.
 */
export class RegistryTls extends Construct {
  public readonly secret: SecretV1;
  /** PEM of the CA clients and nodes must trust. */
  public readonly caPem: string;
  /**
   * When the served (leaf) certificate expires, RFC 3339. A generated leaf is renewed only by an apply inside its
   * early-renewal window: schedule one (docs/operations.md, Certificate renewal).
   */
  public readonly expiresAt: string;

  constructor(scope: Construct, id: string, props: RegistryTlsProps) {
    super(scope, id);
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
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A stack's TLS source: generated (CA + leaf, with its lifetime variables) or provided PEMs (their variables). */
export function tlsSource(mode: TlsMode, vars: StackVariables, dnsNames: string[], ipAddresses: string[]): DistributiveOmit<RegistryTlsProps, 'namespace' | 'secretName'> {
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
