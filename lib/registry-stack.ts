import type { Construct } from 'constructs';
import { Fn, Lazy, TerraformOutput, TerraformStack } from 'cdktf';
import type { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { validateEnvironment, type EnvironmentSettings } from './environments';
import type { ExposureBinding } from './exposure';
import { keepEarlierIngressNginx } from './exposure/ingress-nginx';
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
import { selectorLabels } from './labels';
import { configureBackend, configureProviders } from './providers';
import { addRegistryOutputs } from './outputs';
import { StackVariables } from './variables/stack-variables';
import { RegistryGarbageCollection } from './operations/garbage-collection';
import { RegistryMirror } from './operations/mirror';
import { nullIfEmpty } from './hcl';

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
  public readonly garbageCollection?: RegistryGarbageCollection;
  public readonly mirror?: RegistryMirror;

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
    // ---- operations: GC in a read-only window (the registry reads its switch), a pull-through cache --------
    if (env.garbageCollection) {
      this.garbageCollection = new RegistryGarbageCollection(this, 'garbage-collection', {
        namespace: ns,
        deploymentName: appName,
        podSelector: selectorLabels(appName, 'registry'),
        image,
        // The server is built next and reads this construct's envFrom: its ConfigMap is referenced lazily.
        configMapName: Lazy.stringValue({ produce: () => this.server.configMap.metadata.name }),
        storage: this.storage,
        kubectlImage: vars.string('gc_kubectl_image'),
        schedule: vars.string('gc_schedule'),
        deleteUntagged: env.garbageCollection.deleteUntagged ?? false,
        cache: this.redis,
        seLinuxOptions: env.seLinuxOptions,
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
      ...(this.garbageCollection ? { envFrom: this.garbageCollection.registryEnvFrom } : {}),
    });
    if (env.mirror) {
      this.mirror = new RegistryMirror(this, 'mirror', {
        namespace: ns,
        name: Fn.format('%s-mirror', [appName]),
        image,
        remoteUrl: vars.string('mirror_remote_url'),
        ttl: vars.string('mirror_ttl'),
        upstreamUsername: vars.string('mirror_username'),
        upstreamPassword: vars.string('mirror_password'),
        storageSize: vars.string('mirror_storage_size'),
        storageClassName: (vars.declare('mirror_storage_class'), nullIfEmpty('mirror_storage_class')),
        tls: this.tls,
        auth: this.auth,
        resources: {
          cpuRequest: vars.string('cpu_request'),
          memoryRequest: vars.string('memory_request'),
          memoryLimit: vars.string('memory_limit'),
        },
        seLinuxOptions: env.seLinuxOptions,
      });
    }
    const mirrorServer = this.mirror?.server;

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
      ...(mirrorServer ? {
        additionalRoutes: [{
          externalPort: vars.number('mirror_external_port'),
          target: { namespace: ns, serviceName: mirrorServer.service.metadata.name, port: mirrorServer.port },
        }],
      } : {}),
    });
    // A controller adopted (or a tcp key written) under an earlier setting is released from state, never removed.
    keepEarlierIngressNginx(this, this.exposure.managedAddresses);
    this.networkPolicy = new RegistryNetworkPolicy(this, 'network-policy', {
      namespace: ns,
      name: appName,
      podSelector: this.server.selector,
      registryPort: this.server.port,
      metricsPort: this.server.debugPort,
      peerNamespaces: this.exposure.peerNamespaces,
      peerPods: this.exposure.peerPods,
      allowedClientNamespaces: vars.list('allowed_client_namespaces'),
      monitoringNamespace: vars.string('monitoring_namespace'),
      clientCidrs: this.exposure.clientCidrs,
    });
    if (mirrorServer) {
      new RegistryNetworkPolicy(this.mirror!, 'network-policy', {
        namespace: ns,
        name: mirrorServer.service.metadata.name,
        podSelector: mirrorServer.selector,
        registryPort: mirrorServer.port,
        metricsPort: mirrorServer.debugPort,
        peerNamespaces: this.exposure.peerNamespaces,
        allowedClientNamespaces: vars.list('allowed_client_namespaces'),
        monitoringNamespace: vars.string('monitoring_namespace'),
      });
    }
    // The cache on the registry's first name, as nodes and clients reach it.
    const mirrorHostPort = mirrorServer ? Fn.format('%s:%s', [Fn.element(domains, 0), vars.number('mirror_external_port')]) : undefined;

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
        ...(mirrorHostPort ? {
          mirror: {
            hostPort: mirrorHostPort,
            upstreamRegistry: vars.string('mirror_upstream_registry'),
            upstreamUrl: vars.string('mirror_remote_url'),
          },
        } : {}),
      });
    }

    addRegistryOutputs(this, {
      stackName: `registry-${env.name}`,
      clientPort,
      caPem,
      users: vars.list('registry_users'),
      passwords: this.auth.passwords,
      certificateExpiresAt: this.tls.expiresAt,
      manualSteps: this.exposure.manualSteps,
      statusCommand: this.exposure.statusCommand,
      storage: this.storage.description,
    });
    if (mirrorHostPort) {
      new TerraformOutput(this, 'mirror_endpoint', {
        value: mirrorHostPort,
        description: 'host:port of the pull-through cache (pull <upstream>/<image> as <mirror_endpoint>/<image>).',
      }).overrideLogicalId('mirror_endpoint');
    }
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
