import type { Construct } from 'constructs';
import { Fn, TerraformStack } from 'cdktf';
import type { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { validateEnvironment, type EnvironmentSettings } from './environments';
import type { ExposureBinding } from './exposure';
import type { StorageBinding } from './storage';
import { RegistryTls, type RegistryTlsProps } from './tls';
import { RegistryAuth } from './auth';
import { RegistryPullSecrets } from './pull-secrets';
import { RegistryServer, serviceDnsNames } from './registry/server';
import { RegistryAvailability } from './registry/availability';
import { RegistryRedisCache } from './storage/redis-cache';
import { registryHostPorts } from './registry/endpoint';
import { RegistryNetworkPolicy } from './network-policy';
import { RegistryNodeTrust, NODE_TRUST_NAME } from './node-trust/daemon-set';
import { registryNamespace } from './namespace';
import { configureBackend, configureProviders } from './providers';
import { addRegistryOutputs } from './outputs';
import { StackVariables } from './variables/stack-variables';

export interface RegistryStackProps {
  readonly environment: EnvironmentSettings;
  /**
   * Local state file, relative to the stack's working directory (cdktf.out/stacks/<stack>).
   * @default "../../../terraform.<stack>.tfstate" (the project root, outside cdktf.out)
   */
  readonly localStatePath?: string;
}

/**
 * One registry environment. It reads top to bottom in the order data flows: variables -> namespace -> TLS,
 * pull secrets and users -> storage -> the registry -> exposure -> network policy -> node trust -> outputs.
 * Structural choices come from the environment's strategies (`storage`, `exposure`); every value an operator
 * tunes is a variable from the catalog (lib/variables/catalog.ts).
 */
export class RegistryStack extends TerraformStack {
  /** The stack's Terraform variables (declared from the catalog as the constructs read them). */
  public readonly variables: StackVariables;
  public readonly namespace: NamespaceV1;
  public readonly tls: RegistryTls;
  public readonly pullSecrets: RegistryPullSecrets;
  public readonly auth: RegistryAuth;
  public readonly storage: StorageBinding;
  /** The Redis blob-descriptor cache, when the environment has one. */
  public readonly redis?: RegistryRedisCache;
  public readonly server: RegistryServer;
  /** PodDisruptionBudget (and autoscaler) of storage several pods share off the nodes. */
  public readonly availability?: RegistryAvailability;
  public readonly exposure: ExposureBinding;
  public readonly networkPolicy: RegistryNetworkPolicy;
  public readonly nodeTrust?: RegistryNodeTrust;

  constructor(scope: Construct, id: string, props: RegistryStackProps) {
    super(scope, id);
    const env = props.environment;
    validateEnvironment(env);
    const vars = (this.variables = new StackVariables(this, env));
    configureBackend(this, id, env.cloud, props.localStatePath);
    configureProviders(this, vars);

    const appName = vars.string('app_name');
    const domains = vars.list('registry_domains');
    const ipAddresses = vars.list('registry_ip_addresses');
    const image = vars.string('registry_image');

    this.namespace = registryNamespace(this, vars.string('namespace'), env.storage.podSecurityLevel);
    // Every namespaced resource names the namespace through this reference, so Terraform creates it first.
    const ns = this.namespace.metadata.name;

    // ---- TLS: the leaf names every domain and IP, and the in-cluster Service names ---------------------------
    this.tls = new RegistryTls(this, 'tls', {
      namespace: ns,
      secretName: `${appName}-tls`,
      ...this.tlsSource(env, Fn.concat([domains, serviceDnsNames(appName, ns)]), ipAddresses),
    });

    // ---- who may pull and push ---------------------------------------------------------------------------
    // Every "host:port" clients may use, with the exposure's port: the keys of pull secrets and node trust.
    const clientPort = env.exposure.clientPort(vars);
    const registryHosts = registryHostPorts(domains, ipAddresses, clientPort);
    this.pullSecrets = new RegistryPullSecrets(this, 'pull-secrets', {
      namespaces: vars.list('pull_secret_namespaces'),
      secretName: Fn.format('%s-pull', [appName]),
      username: Fn.format('%s-pull', [appName]),
      registryHosts,
    });
    this.auth = new RegistryAuth(this, 'auth', {
      namespace: ns,
      htpasswdSecretName: `${appName}-htpasswd`,
      httpSecretName: `${appName}-http-secret`,
      users: vars.list('registry_users'),
      htpasswdEntries: vars.list('htpasswd_entries'),
      extraHtpasswdLines: this.pullSecrets.htpasswdLines,
    });

    // ---- storage, then the registry on it ----------------------------------------------------------------
    this.storage = env.storage.bind(this, {
      namespace: ns,
      appName,
      size: env.storage.sizesVolume ? vars.string('storage_size') : undefined,
      preventDestroy: env.preventDestroy ?? true,
      image,
      variables: vars,
    });
    if (env.redis) {
      this.redis = new RegistryRedisCache(this, 'redis', {
        namespace: ns,
        appName,
        addresses: vars.list('redis_addresses'),
        username: vars.string('redis_username'),
        password: vars.string('redis_password'),
        db: vars.number('redis_db'),
        caPem: env.redis.tls ? vars.string('redis_ca_pem') : undefined,
      });
    }
    this.server = new RegistryServer(this, 'registry', {
      namespace: ns,
      name: appName,
      image,
      replicas: vars.number('replicas'),
      serviceType: env.serviceType,
      tls: this.tls,
      auth: this.auth,
      storage: this.storage,
      rolloutStrategy: env.storage.rolloutStrategy,
      cache: this.redis,
      spreadReplicas: env.storage.spreadsReplicas,
      autoscaled: env.autoscaling,
      resources: {
        cpuRequest: vars.string('cpu_request'),
        memoryRequest: vars.string('memory_request'),
        memoryLimit: vars.string('memory_limit'),
      },
      seLinuxOptions: env.seLinuxOptions,
    });

    if (env.storage.spreadsReplicas) {
      this.availability = new RegistryAvailability(this, 'availability', {
        namespace: ns,
        name: this.server.deployment.metadata.name,
        podSelector: this.server.selector,
        autoscaling: env.autoscaling
          ? { minReplicas: vars.number('replicas'), maxReplicas: vars.number('max_replicas'), cpuPercent: vars.number('autoscaling_cpu_percent') }
          : undefined,
      });
    }

    // ---- exposure and network isolation ------------------------------------------------------------------
    this.exposure = env.exposure.bind(this, {
      target: { namespace: ns, serviceName: this.server.service.metadata.name, port: this.server.port },
      variables: vars,
    });
    this.networkPolicy = new RegistryNetworkPolicy(this, 'network-policy', {
      namespace: ns,
      name: appName,
      podSelector: this.server.selector,
      registryPort: this.server.port,
      metricsPort: this.server.debugPort,
      peerNamespaces: this.exposure.peerNamespaces,
      allowedClientNamespaces: vars.list('allowed_client_namespaces'),
      monitoringNamespace: vars.string('monitoring_namespace'),
    });

    // ---- nodes trust the CA ------------------------------------------------------------------------------
    // The CA certificate is public material (nodes and clients must read it); a provided one arrives in a
    // sensitive variable, so it is explicitly declassified.
    const caPem = env.tlsMode === 'provided' ? Fn.nonsensitive(this.tls.caPem) : this.tls.caPem;
    if (env.nodeTrust) {
      this.nodeTrust = new RegistryNodeTrust(this, 'node-trust', {
        namespace: vars.string('node_trust_namespace'),
        name: NODE_TRUST_NAME,
        caPem,
        registryHosts,
        image: vars.string('node_trust_image'),
        seLinuxType: env.nodeTrustSeLinuxType,
      });
    }

    addRegistryOutputs(this, {
      stackName: `registry-${env.name}`,
      clientPort,
      caPem,
      users: vars.list('registry_users'),
      passwords: this.auth.passwords,
      manualSteps: this.exposure.manualSteps,
      storage: this.storage.description,
    });
  }

  /** Generated (CA + leaf from the tls provider, with its lifetime variables) or provided PEMs. */
  private tlsSource(env: EnvironmentSettings, dnsNames: string[], ipAddresses: string[]): DistributiveOmit<RegistryTlsProps, 'namespace' | 'secretName'> {
    const vars = this.variables;
    if (env.tlsMode === 'provided') {
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
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
