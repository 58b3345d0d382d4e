import { Construct } from 'constructs';
import { Fn, Token } from 'cdktf';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import type {
  DeploymentV1SpecTemplateSpecContainerEnv,
  DeploymentV1SpecTemplateSpecContainerVolumeMount,
  DeploymentV1SpecTemplateSpecVolume,
} from '@cdktf/provider-kubernetes/lib/deployment-v1';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import type { PodContext } from '../context';
import { componentLabels } from '../labels';
import type { PodAdditions } from './strategy';

/** The environment setting `redis`: a Redis the operator runs, for the blob-descriptor cache. */
export interface RedisCacheSettings {
  /**
   * Connect with TLS, verifying Redis's certificate against `redis_ca_pem` (distribution v3 turns TLS on when a
   * root CA is configured).
   * @default false
   */
  readonly tls?: boolean;
}

/** Where the pod mounts the Redis CA. */
export const REDIS_MOUNTS = { caDir: '/etc/distribution/redis-ca' } as const;

/**
 * Connection timeouts: a cache that answers slowly is worse than none (every blob lookup waits on it), and
 * distribution falls back to the storage when the cache fails.
 */
export const REDIS_TIMEOUTS = { dialtimeout: '2s', readtimeout: '2s', writetimeout: '2s' } as const;

export interface RegistryRedisCacheProps {
  readonly namespace: string;
  /** The registry's app name: the Secret is `<app>-redis`, the CA ConfigMap `<app>-redis-ca`. */
  readonly appName: string;
  /** `host:port` of each Redis node (may be a Terraform list variable). */
  readonly addresses: string[];
  /** ACL user; empty for the default user (may be a Terraform variable). */
  readonly username: string;
  /** Password; empty for none (may be a sensitive Terraform variable). */
  readonly password: string;
  /** Database number. */
  readonly db: number;
  /**
   * PEM of the CA of Redis's certificate: TLS on, verified against it.
   * @default - no TLS
   */
  readonly caPem?: string;
}

/**
 * Redis as distribution's blob-descriptor cache, shared by every replica (v3 config: go-redis options under
 * `redis`). The stack takes an address and never deploys Redis. The password is kept in a Secret and read as
 * REGISTRY_REDIS_PASSWORD; addresses, user and database arrive as env too, so a change rolls the pods. Values are
 * JSON-encoded: distribution parses every override as YAML.
 */
export class RegistryRedisCache extends Construct implements PodAdditions {
  public readonly passwordSecret: SecretV1;
  /** The CA ConfigMap, with TLS. */
  public readonly caConfigMap?: ConfigMapV1;
  /** Key of the password in `passwordSecret` (JSON-encoded: the registry parses its env overrides as YAML). */
  public readonly passwordKey = 'password';
  /** Key of the password as is (the GC window's cache flush sends it to Redis). */
  public readonly plainPasswordKey = 'plain-password';
  /** What the GC window's flush connects with: addresses, user and database as given, the database as text. */
  public readonly addresses: string[];
  public readonly username: string;
  public readonly db: string;
  /** The `redis` section of config.yml (timeouts, TLS roots; no address, no secret). */
  public readonly config: Record<string, unknown>;
  public readonly env: DeploymentV1SpecTemplateSpecContainerEnv[];
  public readonly volumes: DeploymentV1SpecTemplateSpecVolume[];
  public readonly volumeMounts: DeploymentV1SpecTemplateSpecContainerVolumeMount[];
  public readonly restartOnChange: string[];

  /** The cache as a feature of the registry: reads the `redis_*` variables and adds itself to the registry pod. */
  static attach(context: PodContext, settings: RedisCacheSettings): RegistryRedisCache {
    const vars = context.variables;
    const cache = new RegistryRedisCache(context.scope, 'redis', {
      namespace: context.namespace,
      appName: context.appName,
      addresses: vars.list('redis_addresses'),
      username: vars.string('redis_username'),
      password: vars.string('redis_password'),
      db: vars.number('redis_db'),
      caPem: settings.tls ? vars.string('redis_ca_pem') : undefined,
    });
    context.pod.addCache(cache);
    return cache;
  }

  constructor(scope: Construct, id: string, props: RegistryRedisCacheProps) {
    super(scope, id);
    const labels = componentLabels('cache');
    this.passwordSecret = new SecretV1(this, 'password', {
      metadata: { name: `${props.appName}-redis`, namespace: props.namespace, labels },
      data: { [this.passwordKey]: Fn.jsonencode(props.password), [this.plainPasswordKey]: props.password },
    });
    this.addresses = props.addresses;
    this.username = props.username;
    this.db = Token.isUnresolved(props.db) ? Token.asString(props.db) : String(props.db);
    this.env = [
      { name: 'REGISTRY_REDIS_ADDRS', value: Fn.jsonencode(props.addresses) },
      { name: 'REGISTRY_REDIS_USERNAME', value: Fn.jsonencode(props.username) },
      {
        name: 'REGISTRY_REDIS_PASSWORD',
        valueFrom: { secretKeyRef: { name: this.passwordSecret.metadata.name, key: this.passwordKey, optional: false } },
      },
      // A number token as text; a literal number as its digits.
      { name: 'REGISTRY_REDIS_DB', value: this.db },
    ];
    this.restartOnChange = [props.password];
    this.volumes = [];
    this.volumeMounts = [];
    this.config = { ...REDIS_TIMEOUTS };
    if (props.caPem !== undefined) {
      this.caConfigMap = new ConfigMapV1(this, 'ca', {
        metadata: { name: `${props.appName}-redis-ca`, namespace: props.namespace, labels },
        data: { 'ca.crt': props.caPem },
      });
      this.volumes.push({ name: 'redis-ca', configMap: { name: this.caConfigMap.metadata.name, optional: false, items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
      this.volumeMounts.push({ name: 'redis-ca', mountPath: REDIS_MOUNTS.caDir, readOnly: true });
      this.config = { ...this.config, tls: { rootcas: [`${REDIS_MOUNTS.caDir}/ca.crt`] } };
      this.restartOnChange.push(props.caPem);
    }
  }
}
