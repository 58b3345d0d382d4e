/**
 * The registry's certificate from cert-manager: a `Certificate` (cert-manager.io/v1) whose issuer (an Issuer in the
 * registry's namespace or a ClusterIssuer: ACME with a DNS-01 solver, a private CA, Vault, ...) cert-manager asks,
 * and whose Secret (`kubernetes.io/tls`: tls.crt, tls.key, and ca.crt when the issuer knows its CA) the registry
 * mounts. cert-manager renews it before it expires, outside Terraform; the new Secret content reaches the mounted
 * files by the kubelet's sync (docs/certificates.md has the mechanism and its worst case).
 *
 * Like the Gateway API objects, the Certificate goes in through a local Helm chart whose template prints its values
 * (lib/local-chart.ts): a plan needs neither the cert-manager CRDs nor the cluster.
 */
import * as path from 'node:path';
import { Construct } from 'constructs';
import { Token, type TerraformAsset } from 'cdktf';
import type { Release } from '@cdktf/provider-helm/lib/release';
import { componentLabels } from '../labels';
import { localChartRelease } from '../local-chart';
import * as rules from '../rules';

export const CERT_MANAGER_API_VERSION = 'cert-manager.io/v1';
/** The chart the release installs (copied into the stack's directory as an asset on synth). */
export const CERTIFICATE_CHART_DIR = path.join(__dirname, 'chart');
/** The Helm release, in the registry's namespace. */
export const CERTIFICATE_RELEASE_NAME = 'registry-certificate';

export type IssuerKind = 'Issuer' | 'ClusterIssuer';
export const ISSUER_KINDS: readonly IssuerKind[] = ['Issuer', 'ClusterIssuer'];

export interface CertificateObjectProps {
  /** Name of the Certificate. */
  readonly name: string;
  readonly namespace: string;
  /** The Secret cert-manager writes (and keeps up to date). */
  readonly secretName: string;
  /** SANs: DNS names (the first is the common name cert-manager picks). May be a Terraform list. */
  readonly dnsNames: string[];
  /** SANs: IP addresses (an ACME issuer refuses them; a private CA issues them). May be a Terraform list. */
  readonly ipAddresses: string[];
  readonly issuerName: string;
  /** `Issuer` (in the registry's namespace) or `ClusterIssuer`. */
  readonly issuerKind: string;
}

/** The Certificate object, as plain data (Terraform references in it are evaluated before Helm sees it). */
export function certificateObject(props: CertificateObjectProps): Record<string, unknown> {
  return {
    apiVersion: CERT_MANAGER_API_VERSION,
    kind: 'Certificate',
    metadata: { name: props.name, namespace: props.namespace, labels: componentLabels('tls') },
    spec: {
      secretName: props.secretName,
      // The Secret carries the same labels as the stack's own secrets (kubectl get secret -l ... finds it).
      secretTemplate: { labels: componentLabels('tls') },
      dnsNames: props.dnsNames,
      ipAddresses: props.ipAddresses,
      issuerRef: { group: 'cert-manager.io', kind: props.issuerKind, name: props.issuerName },
      // A fresh key at every renewal (cert-manager >= 1.18 defaults to Always; older releases to Never).
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      usages: ['server auth', 'digital signature'],
    },
  };
}

export interface CertManagerCertificateProps extends CertificateObjectProps {}

/** The Certificate, installed by a local Helm chart (`certificate/chart`, `certificate/certificate-objects`). */
export class CertManagerCertificate extends Construct {
  public readonly chart: TerraformAsset;
  public readonly release: Release;
  /** The Certificate as the chart receives it. */
  public readonly certificate: Record<string, unknown>;
  /** Shows whether cert-manager issued it (Ready) and when it renews. */
  public readonly statusCommand: string;
  /** The Certificate's name (cert-manager's metrics label its series with it). */
  public readonly name: string;

  constructor(scope: Construct, id: string, props: CertManagerCertificateProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.issuerKind)) rules.check('CertManagerCertificate issuerKind', props.issuerKind, [rules.oneOf(ISSUER_KINDS)]);
    if (!Token.isUnresolved(props.issuerName)) rules.check('CertManagerCertificate issuerName', props.issuerName, [rules.dns1123Subdomain]);
    this.certificate = certificateObject(props);
    this.name = props.name;
    this.statusCommand = `kubectl -n ${props.namespace} get certificate ${props.name} -o jsonpath='{range .status.conditions[*]}{.type}={.status}({.reason}){" "}{end}notAfter={.status.notAfter} renewalTime={.status.renewalTime}{"\\n"}'`;
    ({ chart: this.chart, release: this.release } = localChartRelease(this, 'certificate-objects', {
      name: CERTIFICATE_RELEASE_NAME,
      namespace: props.namespace,
      chartDir: CERTIFICATE_CHART_DIR,
      values: { certificate: this.certificate },
    }));
  }
}
