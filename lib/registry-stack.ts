import { Construct } from 'constructs';
import {
  CloudBackend,
  Fn,
  LocalBackend,
  NamedCloudWorkspace,
  TerraformIterator,
  TerraformOutput,
  TerraformStack,
  TerraformVariable,
  TerraformVariableConfig,
  Token,
} from 'cdktf';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { HelmProvider } from '@cdktf/provider-helm/lib/provider';
import { TlsProvider } from '@cdktf/provider-tls/lib/provider';
import { RandomProvider } from '@cdktf/provider-random/lib/provider';
import { validateEnvironment, type EnvironmentSettings } from './environments';
import * as rules from './rules';
import { RegistryTls } from './tls';
import { RegistryAuth } from './auth';
import { RegistryStorage } from './storage';
import { REGISTRY_PORT, RegistryServer } from './registry';
import { IngressNginxTcp } from './exposure/ingress-nginx';
import { RegistryNetworkPolicy } from './network-policy';
import { RegistryNodeTrust } from './node-trust';
import { RegistryPullSecrets } from './pull-secrets';

export interface RegistryStackProps {
  readonly environment: EnvironmentSettings;
  /**
   * Local state file, relative to the stack's working directory (cdktf.out/stacks/<stack>).
   * @default "../../../terraform.<stack>.tfstate" (the project root, outside cdktf.out)
   */
  readonly localStatePath?: string;
}

/** A string variable that means "not set" when empty (Terraform Cloud workspace variables cannot be null). */
const nullIfEmpty = (name: string) => `\${var.${name} == "" ? null : var.${name}}`;

type VariableType = 'string' | 'number' | 'list(string)';

/**
 * Every "host:port" clients may use: each registry domain and each IP address (IPv6 in brackets) with the port.
 * These name the certs.d directories on nodes and the `auths` keys of pull secrets, exactly as in image references.
 */
function registryHostPorts(domains: string[], ipAddresses: string[], port: string): string[] {
  const ipHosts = TerraformIterator.fromList(ipAddresses).forExpressionForList('strcontains(val, ":") ? "[${val}]" : val');
  return Token.asList(TerraformIterator.fromList(Fn.concat([domains, Token.asList(ipHosts)])).forExpressionForList(`"\${val}:${port}"`));
}

interface VariableSpec {
  readonly type: VariableType;
  readonly description: string;
  readonly default?: unknown;
  readonly sensitive?: boolean;
  readonly nullable?: boolean;
  readonly rules: readonly rules.Rule[];
}

/**
 * One registry environment: providers, backend, the operator-facing variables, the constructs and the outputs.
 * Values flow one way: environment settings -> variables (their defaults) -> constructs -> outputs.
 */
export class RegistryStack extends TerraformStack {
  public readonly tls: RegistryTls;
  public readonly auth: RegistryAuth;
  public readonly storage: RegistryStorage;
  public readonly server: RegistryServer;
  public readonly exposure?: IngressNginxTcp;
  public readonly networkPolicy: RegistryNetworkPolicy;
  public readonly pullSecrets: RegistryPullSecrets;
  public readonly nodeTrust?: RegistryNodeTrust;
  public readonly namespace: NamespaceV1;
  /** Every variable this stack declares, by name (the Terraform name). */
  public readonly variables: Record<string, TerraformVariable> = {};
  /** The rules behind each variable's validation blocks, by variable name (for synth-time checks of values). */
  public readonly variableRules: Record<string, readonly rules.Rule[]> = {};

  constructor(scope: Construct, id: string, props: RegistryStackProps) {
    super(scope, id);
    const env = props.environment;
    validateEnvironment(env);
    const d = env.defaults;
    const accessMode = env.storageAccessMode ?? 'ReadWriteOnce';

    this.configureBackend(id, env, props.localStatePath);

    // ---- variables: what an operator tunes per run --------------------------------------------------------
    const v = (name: string, spec: VariableSpec) => this.variable(name, spec);
    const namespace = v('namespace', {
      type: 'string', description: 'Namespace the registry runs in (created by this stack).',
      default: d.namespace, rules: [rules.dns1123Label],
    }).stringValue;
    const appName = v('app_name', {
      type: 'string', description: 'Name of the registry Deployment, Service and ConfigMap; prefix of its secrets.',
      default: d.appName, rules: [rules.dns1123Label],
    }).stringValue;
    const domains = v('registry_domains', {
      type: 'list(string)',
      description: 'DNS names clients use to reach the registry; the first one is the endpoint. All become certificate SANs.',
      default: d.domains, rules: [rules.nonEmptyList, rules.each(rules.domainName), rules.uniqueList],
    }).listValue;
    const ipAddresses = v('registry_ip_addresses', {
      type: 'list(string)', description: 'IP addresses clients may use instead of a name (certificate IP SANs).',
      default: d.ipAddresses, rules: [rules.each(rules.ipAddress), rules.uniqueList],
    }).listValue;
    const image = v('registry_image', {
      type: 'string', description: 'Registry container image, pinned by tag or digest (distribution v3 line).',
      default: d.image, rules: [rules.imageReference, rules.pinnedImage],
    }).stringValue;
    const replicas = v('replicas', {
      type: 'number',
      description: accessMode === 'ReadWriteMany'
        ? 'Registry pods (shared ReadWriteMany storage: more than one is possible).'
        : 'Registry pods. Must be 1: this environment\'s storage is ReadWriteOnce.',
      default: d.replicas,
      rules: accessMode === 'ReadWriteMany' ? [rules.wholeNumber(1, 10)] : [rules.singleReplica],
    }).numberValue;
    const storageSize = v('storage_size', {
      type: 'string', description: 'Size of the registry volume (Kubernetes quantity, e.g. 20Gi).',
      default: d.storageSize, rules: [rules.positiveQuantity],
    }).stringValue;
    const users = v('registry_users', {
      type: 'list(string)', description: 'Users that get a generated password (see the registry_passwords output).',
      default: d.users,
      rules: [rules.each(rules.userName), rules.uniqueList, rules.atLeastOneUserWith('htpasswd_entries', [])],
    }).listValue;
    const entries = v('htpasswd_entries', {
      type: 'list(string)', sensitive: true,
      description: "Existing htpasswd lines 'user:$2y$...' (bcrypt only), kept as they are.",
      default: [], rules: [rules.each(rules.bcryptHtpasswdEntry)],
    }).listValue;
    const resources = {
      cpuRequest: v('cpu_request', { type: 'string', description: 'CPU request of the registry container.', default: d.cpuRequest, rules: [rules.quantity] }).stringValue,
      memoryRequest: v('memory_request', { type: 'string', description: 'Memory request of the registry container.', default: d.memoryRequest, rules: [rules.positiveQuantity] }).stringValue,
      memoryLimit: v('memory_limit', { type: 'string', description: 'Memory limit of the registry container.', default: d.memoryLimit, rules: [rules.positiveQuantity] }).stringValue,
    };

    // ---- providers -----------------------------------------------------------------------------------------
    this.configureProviders(d);

    this.namespace = new NamespaceV1(this, 'namespace', {
      metadata: {
        name: namespace,
        labels: {
          'app.kubernetes.io/managed-by': 'private-registry-stack',
          // The registry pod meets the "restricted" Pod Security Standard; enforce it for the whole namespace.
          // The opt-in chown init container runs as root with CHOWN, which only "baseline" admits: then
          // enforce baseline and keep warning/auditing against restricted.
          ...(env.chownHostPath
            ? {
              'pod-security.kubernetes.io/enforce': 'baseline',
              'pod-security.kubernetes.io/warn': 'restricted',
              'pod-security.kubernetes.io/audit': 'restricted',
            }
            : { 'pod-security.kubernetes.io/enforce': 'restricted' }),
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    });
    // Every namespaced resource names the namespace through this reference, so Terraform creates it first.
    const ns = this.namespace.metadata.name;

    // ---- TLS -----------------------------------------------------------------------------------------------
    const serviceDnsNames = ['%s.%s.svc', '%s.%s.svc.cluster.local'].map((f) => Fn.format(f, [appName, ns]));
    let provided;
    let validityHours = 0;
    let earlyRenewalHours = 0;
    if (env.tlsMode === 'provided') {
      provided = {
        certificate: v('tls_certificate_pem', { type: 'string', sensitive: true, description: 'Registry certificate PEM (with SANs for every registry domain), followed by any intermediates.', rules: [rules.certificatePem] }).stringValue,
        privateKey: v('tls_private_key_pem', { type: 'string', sensitive: true, description: 'Private key PEM of the registry certificate (unencrypted).', rules: [rules.privateKeyPem] }).stringValue,
        ca: v('tls_ca_pem', { type: 'string', sensitive: true, description: 'PEM of the CA that issued the registry certificate (clients and nodes trust it).', rules: [rules.certificatePem] }).stringValue,
      };
    } else {
      validityHours = v('cert_validity_hours', {
        type: 'number', description: 'Validity of the generated registry certificate, in hours.',
        default: d.certValidityHours, rules: [rules.wholeNumber(24, 87600)],
      }).numberValue;
      earlyRenewalHours = v('cert_early_renewal_hours', {
        type: 'number', description: 'Renew the certificate on the first apply this many hours before it expires.',
        default: d.certEarlyRenewalHours,
        rules: [rules.wholeNumber(0, 87600), rules.lessThanVariable('cert_validity_hours', d.certValidityHours)],
      }).numberValue;
    }
    this.tls = new RegistryTls(this, 'tls', {
      namespace: ns,
      secretName: `${appName}-tls`,
      mode: env.tlsMode,
      dnsNames: Fn.concat([domains, serviceDnsNames]),
      ipAddresses,
      validityHours,
      earlyRenewalHours,
      provided,
    });

    // ---- image pull secrets for workloads -----------------------------------------------------------------------
    // Every name (and IP) clients may use, with the port they use: the keys of node trust and pull secrets.
    const endpointPort = env.exposure !== 'none' ? '${var.external_port}' : String(REGISTRY_PORT);
    const registryHosts = registryHostPorts(domains, ipAddresses, endpointPort);
    const pullUser = Fn.format('%s-pull', [appName]);
    this.pullSecrets = new RegistryPullSecrets(this, 'pull-secrets', {
      namespaces: v('pull_secret_namespaces', {
        type: 'list(string)',
        description: 'Namespaces that get a kubernetes.io/dockerconfigjson secret "<app_name>-pull" to pull from the registry (may be empty).',
        default: d.pullSecretNamespaces, rules: [rules.each(rules.dns1123Label), rules.uniqueList],
      }).listValue,
      secretName: Fn.format('%s-pull', [appName]),
      username: pullUser,
      registryHosts,
    });
    this.variables.registry_users.addValidation({
      condition: '${!contains(var.registry_users, "${var.app_name}-pull")}',
      errorMessage: 'registry_users: "${var.app_name}-pull" is not allowed; expected names other than the pull-secret user\'s (<app_name>-pull).',
    });

    // ---- users -----------------------------------------------------------------------------------------------
    this.auth = new RegistryAuth(this, 'auth', {
      namespace: ns,
      htpasswdSecretName: `${appName}-htpasswd`,
      httpSecretName: `${appName}-http-secret`,
      users,
      htpasswdEntries: entries,
      extraHtpasswdLines: this.pullSecrets.htpasswdLines,
    });

    // ---- storage ---------------------------------------------------------------------------------------------
    this.storage = new RegistryStorage(this, 'storage', {
      kind: env.storageKind,
      namespace: ns,
      claimName: `${appName}-data`,
      volumeName: `${ns}-${appName}-data`,
      size: storageSize,
      accessMode,
      preventDestroy: env.preventDestroy ?? true,
      ...this.storageVariables(env),
    });

    // ---- the registry ----------------------------------------------------------------------------------------
    this.server = new RegistryServer(this, 'registry', {
      namespace: ns,
      name: appName,
      image,
      replicas,
      sharedStorage: accessMode === 'ReadWriteMany',
      serviceType: env.serviceType,
      tlsSecretName: this.tls.secret.metadata.name,
      htpasswdSecretName: this.auth.htpasswdSecret.metadata.name,
      htpasswdKey: this.auth.htpasswdKey,
      httpSecretName: this.auth.httpSecret.metadata.name,
      httpSecretKey: this.auth.httpSecretKey,
      claimName: this.storage.claimName,
      rolloutTriggers: [this.tls.secret, this.auth.htpasswdSecret, this.auth.httpSecret].map((s) => s.metadata.resourceVersion),
      resources,
      seLinuxOptions: env.seLinuxOptions,
      chownDataDirectory: env.chownHostPath ?? false,
    });

    // ---- exposure --------------------------------------------------------------------------------------------
    let ingressControllerNamespace: string | undefined;
    if (env.exposure !== 'none') {
      const externalPort = v('external_port', {
        type: 'number', description: 'Port clients use on the ingress-nginx controller (L4 pass-through to the registry).',
        default: d.externalPort, rules: [rules.tcpPort, rules.unreservedIngressPort],
      }).numberValue;
      const controllerNamespace = v('ingress_namespace', {
        type: 'string', description: 'Namespace of the ingress-nginx controller.',
        default: d.ingressNamespace, rules: [rules.dns1123Label],
      }).stringValue;
      ingressControllerNamespace = controllerNamespace;
      const helmManaged = env.exposure !== 'configmap-only';
      this.exposure = new IngressNginxTcp(this, 'exposure', {
        mode: env.exposure,
        externalPort,
        target: { namespace: ns, serviceName: this.server.service.metadata.name, port: this.server.port },
        controllerNamespace,
        releaseName: helmManaged
          ? v('ingress_release_name', { type: 'string', description: 'Helm release name of ingress-nginx.', default: d.ingressReleaseName, rules: [rules.dns1123Label] }).stringValue
          : '',
        chartVersion: helmManaged
          ? v('ingress_chart_version', { type: 'string', description: 'ingress-nginx chart version (exact).', default: d.chartVersion, rules: [rules.semver] }).stringValue
          : '',
        tcpConfigMapName: helmManaged
          ? ''
          : v('tcp_services_configmap', { type: 'string', description: "Name of the controller's tcp-services ConfigMap (in ingress_namespace).", default: d.tcpConfigMapName, rules: [rules.dns1123Subdomain] }).stringValue,
      });
    }

    // ---- network isolation -----------------------------------------------------------------------------------
    this.networkPolicy = new RegistryNetworkPolicy(this, 'network-policy', {
      namespace: ns,
      name: appName,
      podSelector: this.server.selector,
      registryPort: this.server.port,
      metricsPort: this.server.debugPort,
      ingressControllerNamespace,
      allowedClientNamespaces: v('allowed_client_namespaces', {
        type: 'list(string)',
        description: "Namespaces (besides the ingress controller's) whose pods may connect to the registry port.",
        default: d.allowedClientNamespaces, rules: [rules.each(rules.dns1123Label), rules.uniqueList],
      }).listValue,
      monitoringNamespace: v('monitoring_namespace', {
        type: 'string', description: 'Namespace whose pods may scrape the metrics port; empty: nobody.',
        default: d.monitoringNamespace, rules: [rules.optional(rules.dns1123Label)],
      }).stringValue,
    });

    // ---- nodes trust the CA ------------------------------------------------------------------------------------
    // The CA certificate is public material (nodes and clients must read it); a provided one arrives in a
    // sensitive variable, so it is explicitly declassified.
    const caPem = env.tlsMode === 'provided' ? Fn.nonsensitive(this.tls.caPem) : this.tls.caPem;
    if (env.nodeTrust) {
      const nodeTrustNamespace = v('node_trust_namespace', {
        type: 'string', description: 'Namespace created for the node-trust DaemonSet (Pod Security "privileged": it mounts two host certs.d directories).',
        default: d.nodeTrustNamespace, rules: [rules.dns1123Label],
      });
      nodeTrustNamespace.addValidation({
        condition: '${var.node_trust_namespace != var.namespace}',
        errorMessage: 'node_trust_namespace: "${var.node_trust_namespace}" is not allowed; expected a namespace other than the registry\'s (namespace), which enforces a stricter Pod Security level.',
      });
      this.nodeTrust = new RegistryNodeTrust(this, 'node-trust', {
        namespace: nodeTrustNamespace.stringValue,
        name: 'registry-node-trust',
        caPem,
        registryHosts,
        image: v('node_trust_image', {
          type: 'string', description: 'Image of the node-trust DaemonSet (POSIX sh + busybox), pinned by tag or digest.',
          default: d.nodeTrustImage, rules: [rules.imageReference, rules.pinnedImage],
        }).stringValue,
        seLinuxType: env.nodeTrustSeLinuxType,
      });
    }

    this.addOutputs(env, endpointPort, caPem);
  }

  /** Declares a stack-level variable whose validation blocks come from `spec.rules`, after checking its default. */
  private variable(name: string, spec: VariableSpec): TerraformVariable {
    if (spec.default !== undefined) rules.check(name, spec.default, spec.rules, spec.sensitive);
    const config: TerraformVariableConfig = {
      type: spec.type,
      description: spec.description,
      default: spec.default,
      sensitive: spec.sensitive,
      nullable: spec.nullable ?? false,
      validation: rules.terraformValidations(name, spec.rules, spec.sensitive),
    };
    const variable = new TerraformVariable(this, `var-${name}`, config);
    variable.overrideLogicalId(name);
    this.variables[name] = variable;
    this.variableRules[name] = spec.rules;
    return variable;
  }

  private storageVariables(env: EnvironmentSettings) {
    const d = env.defaults;
    switch (env.storageKind) {
      case 'host-path':
        return {
          hostPath: this.variable('host_path', { type: 'string', description: 'Directory on the node that holds the registry data (must be writable by uid 1000).', default: d.hostPath, rules: [rules.absolutePath] }).stringValue,
          nodeName: this.variable('node_name', { type: 'string', description: "The node whose disk holds the data (its kubernetes.io/hostname label).", default: d.nodeName, rules: [rules.dns1123Subdomain] }).stringValue,
        };
      case 'storage-class':
        this.variable('storage_class', { type: 'string', description: "Storage class of the registry claim; empty for the cluster's default class.", default: d.storageClass, rules: [rules.optional(rules.dns1123Subdomain)] });
        return { storageClass: nullIfEmpty('storage_class') };
      case 'existing-claim':
        return {
          existingClaim: this.variable('existing_claim', { type: 'string', description: 'Existing PersistentVolumeClaim (in the registry namespace) to keep the data on.', default: d.existingClaim || undefined, rules: [rules.dns1123Subdomain] }).stringValue,
        };
    }
  }

  private configureBackend(id: string, env: EnvironmentSettings, localStatePath?: string) {
    if (env.cloud) {
      new CloudBackend(this, {
        organization: env.cloud.organization,
        hostname: env.cloud.hostname,
        workspaces: new NamedCloudWorkspace(env.cloud.workspace),
      });
    } else {
      // Outside cdktf.out: deleting build output must never lose track of a registry's volume.
      new LocalBackend(this, { path: localStatePath ?? `../../../terraform.${id}.tfstate` });
    }
  }

  /**
   * Kubernetes and Helm connect with a kubeconfig (workstation) or with host + token + CA (Terraform Cloud
   * workers, which have no kubeconfig and no local files). A non-empty kube_host wins over the kubeconfig.
   */
  private configureProviders(d: EnvironmentSettings['defaults']) {
    this.variable('kubeconfig_path', { type: 'string', description: 'Kubeconfig file (workstation runs). Ignored when kube_host is set.', default: d.kubeconfigPath ?? '', rules: [rules.optional(rules.kubeconfigPath)] });
    this.variable('kube_context', { type: 'string', description: 'Kubeconfig context; empty for the current context.', default: d.kubeContext ?? '', rules: [rules.optional(rules.kubeContext)] });
    this.variable('kube_host', { type: 'string', description: 'API server URL (Terraform Cloud runs); empty to use the kubeconfig.', default: '', rules: [rules.optional(rules.httpsUrl)] });
    this.variable('kube_token', { type: 'string', sensitive: true, description: 'Bearer token for kube_host (a ServiceAccount token).', default: '', rules: [rules.optional(rules.bearerToken)] });
    this.variable('kube_cluster_ca_certificate', { type: 'string', description: "PEM of the API server's CA for kube_host (never skip verification).", default: '', rules: [rules.optional(rules.certificatePem)] });
    const connection = {
      configPath: `\${var.kube_host != "" ? null : (var.kubeconfig_path == "" ? null : var.kubeconfig_path)}`,
      configContext: `\${var.kube_host != "" ? null : (var.kube_context == "" ? null : var.kube_context)}`,
      host: nullIfEmpty('kube_host'),
      token: nullIfEmpty('kube_token'),
      clusterCaCertificate: nullIfEmpty('kube_cluster_ca_certificate'),
    };
    new KubernetesProvider(this, 'provider-kubernetes', connection);
    new HelmProvider(this, 'provider-helm', { kubernetes: connection });
    new TlsProvider(this, 'provider-tls');
    new RandomProvider(this, 'provider-random');
  }

  private addOutputs(env: EnvironmentSettings, endpointPort: string, caPem: string) {
    const output = (name: string, value: any, description: string, sensitive = false) =>
      new TerraformOutput(this, name, { value, description, sensitive }).overrideLogicalId(name);
    const endpoint = `\${element(var.registry_domains, 0)}:${endpointPort}`;
    const stack = `registry-${env.name}`;
    output('registry_endpoint', endpoint, 'host:port clients use (docker/podman/skopeo/registry-check).');
    output('ca_certificate_pem', caPem, 'CA certificate that clients and nodes must trust.');
    output('registry_users', this.variables.registry_users.listValue, 'Users with generated passwords.');
    output('registry_passwords', this.auth.passwords, 'Generated passwords by user.', true);
    output('login_commands', {
      save_ca: `cdktf output ${stack} --outputs-file outputs.json --outputs-file-include-sensitive-outputs && jq -r '.["${stack}"].ca_certificate_pem' outputs.json > registry-ca.crt`,
      docker: `jq -r '.["${stack}"].registry_passwords.<user>' outputs.json | docker login ${endpoint} --username <user> --password-stdin`,
      podman: `jq -r '.["${stack}"].registry_passwords.<user>' outputs.json | podman login ${endpoint} --username <user> --password-stdin --cert-dir <dir holding ca.crt>`,
      curl: `curl --cacert registry-ca.crt -u <user> https://${endpoint}/v2/_catalog`,
      registry_check: `jq -r '.["${stack}"].registry_passwords.<user>' outputs.json | npx registry-check ${endpoint} --user <user> --password-stdin --ca-file registry-ca.crt`,
    }, 'Ready-to-run commands: save the CA, log in, list the catalog, check the registry end to end.');
    output('trust_ca', {
      docker: `sudo mkdir -p /etc/docker/certs.d/${endpoint} && sudo cp registry-ca.crt /etc/docker/certs.d/${endpoint}/ca.crt`,
      podman: `sudo mkdir -p /etc/containers/certs.d/${endpoint} && sudo cp registry-ca.crt /etc/containers/certs.d/${endpoint}/ca.crt`,
      debian: 'sudo cp registry-ca.crt /usr/local/share/ca-certificates/private-registry.crt && sudo update-ca-certificates',
      rhel: 'sudo cp registry-ca.crt /etc/pki/ca-trust/source/anchors/private-registry.crt && sudo update-ca-trust',
      macos: 'sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain registry-ca.crt',
    }, 'How to trust the registry CA on a workstation (no insecure-registry settings needed).');
    if (this.exposure?.manualSteps) {
      output('manual_steps', this.exposure.manualSteps, 'What the operator must still change on a controller not installed by Helm.');
    }
  }
}
