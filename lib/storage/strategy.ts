import type { Construct } from 'constructs';
import type {
  DeploymentV1SpecTemplateSpecContainerEnv,
  DeploymentV1SpecTemplateSpecContainerVolumeMount,
  DeploymentV1SpecTemplateSpecInitContainer,
  DeploymentV1SpecTemplateSpecVolume,
} from '@cdktf/provider-kubernetes/lib/deployment-v1';
import type * as rules from '../rules';
import type { StackVariables } from '../variables/stack-variables';

/** How the Deployment replaces its pods (cdk8s-plus's DeploymentStrategy, as the provider spells it). */
export type RolloutStrategy =
  /** Old pods go before new ones start: a ReadWriteOnce volume can be mounted by one pod only. */
  | { readonly type: 'Recreate' }
  /** New pods start while old ones serve: storage several pods share. */
  | { readonly type: 'RollingUpdate'; readonly rollingUpdate?: { readonly maxSurge: string; readonly maxUnavailable: string } };

/** The Pod Security Standard the registry namespace enforces (what the registry pod needs). */
export type PodSecurityLevel = 'restricted' | 'baseline';

export interface StorageBindOptions {
  /** Namespace of the registry (claims live there). */
  readonly namespace: string;
  /** The registry's app name: claims and volumes are named after it. */
  readonly appName: string;
  /**
   * Requested size of the volume (Kubernetes quantity).
   * @default - none: only storage whose `sizesVolume` is true is given one
   */
  readonly size?: string;
  /** Terraform `prevent_destroy` on what holds the data. */
  readonly preventDestroy: boolean;
  /** The registry image (init steps that need a shell use it). */
  readonly image: string;
  /** The stack's variables: a storage kind reads its own (host_path, storage_class, ...). */
  readonly variables: StackVariables;
}

/**
 * What a part of the stack adds to the registry pod besides config.yml: storage drivers and the Redis cache both
 * hand the server one. Values an operator tunes per run travel as env (a changed value changes the pod template,
 * so the pods roll); config.yml keeps the structure and constants.
 */
export interface PodAdditions {
  /** Pod volumes the registry container mounts. */
  readonly volumes: DeploymentV1SpecTemplateSpecVolume[];
  /** Where the registry container mounts them. */
  readonly volumeMounts: DeploymentV1SpecTemplateSpecContainerVolumeMount[];
  /**
   * Env of the registry container: REGISTRY_* overrides of config.yml keys (from variables, or from a Secret).
   * @default - none
   */
  readonly env?: DeploymentV1SpecTemplateSpecContainerEnv[];
  /**
   * Secret values the registry reads only at start (credentials passed as env from a Secret): a change must roll
   * the pods. The server puts a salted hash of them on the pod template.
   * @default - none
   */
  readonly restartOnChange?: string[];
}

/** What the registry pod and its config need from the storage, once it is bound. */
export interface StorageBinding extends PodAdditions {
  /** The `storage.<driver>` section of config.yml (no secrets, no per-run values: those come as env). */
  readonly driver: Record<string, unknown>;
  /** Init containers that prepare the storage. */
  readonly initContainers: DeploymentV1SpecTemplateSpecInitContainer[];
  /**
   * The ServiceAccount the pod runs as (a cloud identity bound to it). Its Kubernetes API token is never mounted.
   * @default - the namespace's default ServiceAccount
   */
  readonly serviceAccountName?: string;
  /**
   * What the storage is, for the stack's outputs (no secrets).
   * @default - no storage output
   */
  readonly description?: Record<string, unknown>;
}

/** Variables whose rules depend on the storage's settings. */
export type StorageVariable = 's3_disable_redirect';

/** A setting check that names the environment: `check('storage.accessMode', value, rules)`. */
export type SettingCheck = (setting: string, value: unknown, settingRules: readonly rules.Rule[]) => void;

/**
 * What backs the registry's data: a strategy object chosen per environment with a static factory
 * (`Storage.hostPath()`, `Storage.storageClass()`, ...) and bound once by the stack. A new kind is one file with
 * a subclass and one factory in lib/storage/index.ts.
 */
export abstract class StorageStrategy {
  /** Short name for messages and docs. */
  abstract readonly kind: string;
  /** How many registry pods this storage can serve at once. */
  abstract readonly maxReplicas: number;
  /** How the Deployment rolls with this storage. */
  abstract readonly rolloutStrategy: RolloutStrategy;
  /** Whether the storage is a volume of a size (`storage_size`); object storage is not. */
  get sizesVolume(): boolean {
    return true;
  }

  /** The Pod Security level the registry namespace can enforce with this storage. */
  get podSecurityLevel(): PodSecurityLevel {
    return 'restricted';
  }

  /**
   * Several pods serve at once from storage that lives off the nodes: the server spreads them over nodes and the
   * stack keeps a PodDisruptionBudget (and may scale them with a HorizontalPodAutoscaler).
   */
  get spreadsReplicas(): boolean {
    return false;
  }

  /** Description of the `replicas` variable in an environment with this storage. */
  abstract readonly replicasDescription: string;
  /** Rules of the `replicas` variable in an environment with this storage. */
  abstract readonly replicaRules: readonly rules.Rule[];

  /**
   * Rules this storage adds to one of its variables (a private S3 CA needs s3_disable_redirect).
   * @default - none
   */
  addedRules(_variable: StorageVariable): readonly rules.Rule[] {
    return [];
  }

  /** Checks the strategy's own settings (for JavaScript callers and hand-edited environments). */
  abstract validate(check: SettingCheck): void;

  /** Rejects options the factory does not take (an option of another kind, a typo). */
  protected validateOptionNames(check: SettingCheck, factory: string, options: object, known: readonly string[]): void {
    for (const key of Object.keys(options)) {
      if (!known.includes(key)) {
        check(`storage.${key}`, (options as Record<string, unknown>)[key], [{
          allowed: `no such option for ${factory}; its options are ${known.join(', ')}`,
          test: () => false,
          condition: () => 'false',
        }]);
      }
    }
  }

  /** Creates the storage's resources in `scope` and says what the pod needs. */
  abstract bind(scope: Construct, options: StorageBindOptions): StorageBinding;
}
