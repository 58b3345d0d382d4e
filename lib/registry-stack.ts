import type { Construct } from 'constructs';
import { Fn, TerraformStack } from 'cdktf';
import type { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { validateEnvironment, type EnvironmentSettings } from './environments';
import type { PodContext, RegistryContext } from './context';
import type { ExposureBinding } from './exposure';
import { keepEarlier } from './keep-earlier';
import type { StorageBinding } from './storage';
import { RegistryTls, tlsSource } from './tls';
import { RegistryAuth, roleGrants } from './auth';
import { RegistryPullSecrets } from './pull-secrets';
import { RegistryPod } from './registry/pod';
import { RegistryServer, serviceDnsNames } from './registry/server';
import { RegistryAvailability } from './registry/availability';
import { RegistryRedisCache } from './storage/redis-cache';
import { registryHostPorts, registryImageHosts } from './registry/endpoint';
import { RegistryNetworkPolicy } from './network-policy';
import { RegistryNodeTrust, NODE_TRUST_NAME } from './node-trust/daemon-set';
import { NodeTrustTargets } from './node-trust/targets';
import { registryNamespace } from './namespace';
import { configureBackend, configureProviders } from './providers';
import { RegistryOutputs } from './outputs';
import { StackVariables } from './variables/stack-variables';
import { RegistryGarbageCollection } from './operations/garbage-collection';
import { RegistryMirror } from './operations/mirror';
import { RegistryMonitoring } from './monitoring/monitoring';

export interface RegistryStackProps {
  readonly environment: EnvironmentSettings;
  /**
   * Local state file, relative to the stack's working directory (cdktf.out/stacks/<stack>).
   * @default "../../../terraform.<stack>.tfstate" (the project root, outside cdktf.out)
   */
  readonly localStatePath?: string;
}

/**
 * One registry environment, a table of contents in the order data flows: variables -> namespace -> TLS, pull
 * secrets and users -> storage -> features of the registry pod -> the registry -> exposure, network policy and
 * outputs -> features -> node trust. Structural choices come from the environment's strategies (`storage`,
 * `exposure`); every value an operator tunes is a variable from the catalog (lib/variables/catalog.ts). A feature
 * is one construct that attaches itself to the shared parts through the context it is given (lib/context.ts).
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
  public readonly outputs: RegistryOutputs;
  public readonly nodeTrust?: RegistryNodeTrust;
  public readonly garbageCollection?: RegistryGarbageCollection;
  public readonly mirror?: RegistryMirror;
  public readonly monitoring?: RegistryMonitoring;

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

    // ---- TLS: every domain and IP (and Service names, but from cert-manager, whose Secret has a name of its own) ---
    const tlsNames = { dnsNames: domains, serviceNames: serviceDnsNames(appName, ns), ipAddresses, certificateName: appName };
    const secretName = Fn.format(env.tlsMode === 'cert-manager' ? '%s-certificate' : '%s-tls', [appName]);
    this.tls = new RegistryTls(this, 'tls', { namespace: ns, secretName, ...tlsSource(env.tlsMode, vars, tlsNames) });

    // ---- who may pull and push ---------------------------------------------------------------------------
    // Every "host:port" clients may use (node trust's); pull secrets key them as image references do (none on 443).
    const clientPort = env.exposure.clientPort(vars);
    const registryHosts = registryHostPorts(domains, ipAddresses, clientPort);
    this.pullSecrets = new RegistryPullSecrets(this, 'pull-secrets', {
      namespaces: vars.list('pull_secret_namespaces'),
      secretName: Fn.format('%s-pull', [appName]),
      username: Fn.format('%s-pull', [appName]),
      registryHosts: registryImageHosts(domains, ipAddresses, clientPort),
    });
    this.auth = new RegistryAuth(this, 'auth', {
      namespace: ns,
      htpasswdSecretName: `${appName}-htpasswd`,
      httpSecretName: `${appName}-http-secret`,
      users: vars.list('registry_users'),
      htpasswdEntries: vars.list('htpasswd_entries'),
      extraHtpasswdLines: this.pullSecrets.htpasswdLines,
    });

    // ---- storage, features of the registry pod, then the registry ------------------------------------------
    this.storage = env.storage.bind(this, {
      namespace: ns,
      appName,
      size: env.storage.sizesVolume ? vars.string('storage_size') : undefined,
      preventDestroy: env.preventDestroy ?? true,
      image,
      variables: vars,
    });
    const resources = { cpuRequest: vars.string('cpu_request'), memoryRequest: vars.string('memory_request'), memoryLimit: vars.string('memory_limit') };
    const pod = new RegistryPod();
    const podContext: PodContext = {
      scope: this, environment: env, variables: vars, namespace: ns, appName, image, domains, resources,
      tls: this.tls, auth: this.auth, storage: this.storage, pod,
    };
    if (env.redis) this.redis = RegistryRedisCache.attach(podContext, env.redis);
    // GC in a read-only window: the registry reads its switch.
    if (env.garbageCollection) this.garbageCollection = RegistryGarbageCollection.attach(podContext, env.garbageCollection, this.redis);
    this.server = pod.builtAs(new RegistryServer(this, 'registry', {
      namespace: ns,
      name: appName,
      image,
      replicas: vars.number('replicas'),
      serviceType: env.serviceType,
      tls: this.tls,
      auth: this.auth,
      storage: this.storage,
      rolloutStrategy: env.storage.rolloutStrategy,
      spreadReplicas: env.storage.spreadsReplicas,
      autoscaled: env.autoscaling,
      resources,
      seLinuxOptions: env.seLinuxOptions,
      tracing: { exporter: vars.string('otel_traces_exporter'), otlpEndpoint: vars.string('otel_exporter_otlp_endpoint') },
      front: { image: vars.string('front_image'), grants: roleGrants(vars) },
      ...pod.serverProps,
    }));

    // ---- exposure, network isolation and outputs: the shared parts features attach to ----------------------
    const caPem = this.tls.publicCaPem;
    this.exposure = env.exposure.bind(this, {
      target: { namespace: ns, serviceName: this.server.service.metadata.name, port: this.server.port },
      variables: vars,
      tls: { secretName: this.tls.secretName, caPem, hasCa: this.tls.hasCa },
    });
    // A controller, tcp key, volume or claim of an earlier setting is released from state, never removed.
    keepEarlier(this);
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
    this.outputs = new RegistryOutputs(this, {
      stackName: `registry-${env.name}`,
      clientPort,
      caPem, caGiven: this.tls.caGiven,
      users: vars.list('registry_users'),
      passwords: this.auth.passwords,
      certificateExpiresAt: this.tls.expiresAt,
      certificateStatusCommand: this.tls.certificate?.statusCommand,
      manualSteps: this.exposure.manualSteps,
      statusCommand: this.exposure.statusCommand,
      storage: this.storage.description,
    });
    const nodeTrust = env.nodeTrust ? new NodeTrustTargets(registryHosts) : undefined;
    const context: RegistryContext = {
      ...podContext, server: this.server, exposure: this.exposure, networkPolicy: this.networkPolicy, nodeTrust, outputs: this.outputs,
    };

    // ---- features: each attaches itself to the shared parts ----------------------------------------------
    if (env.storage.spreadsReplicas) this.availability = RegistryAvailability.attach(context);
    // A pull-through cache: a route, a network policy, a node-trust mirror, an output.
    if (env.mirror) this.mirror = RegistryMirror.attach(context);
    if (env.monitoring) this.monitoring = RegistryMonitoring.attach(context, env.monitoring, this.mirror);

    // ---- nodes trust the CA for every host the registry and its features serve -----------------------------
    if (nodeTrust) {
      this.nodeTrust = new RegistryNodeTrust(this, 'node-trust', {
        namespace: vars.string('node_trust_namespace'),
        name: NODE_TRUST_NAME,
        caPem,
        image: vars.string('node_trust_image'),
        seLinuxType: env.nodeTrustSeLinuxType,
        ...nodeTrust.props,
      });
      if (this.tls.certificate) this.nodeTrust.requireCa(this.tls.hasCa, 'cert_manager_ca_pem');
    }
  }
}
