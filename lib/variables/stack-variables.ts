import { type IResolvable, TerraformStack, TerraformVariable } from 'cdktf';
import * as rules from '../rules';
import type { EnvironmentSettings } from '../environments';
import {
  specOf,
  type VariableContext,
  type VariableName,
  type VariableNameOfType,
  type VariableSpec,
  type VariableValue,
} from './catalog';

/**
 * The Terraform variables of one stack, declared from the catalog on first use: a stack declares exactly the
 * variables its environment's settings read. Each declaration checks its default (from the environment, else the
 * catalog) against the variable's rules at synth time and emits the same rules as `validation` blocks, so a
 * workstation run and a Terraform Cloud run reject the same values with the same words.
 *
 * Accessors are typed by the catalog: `string('namespace')` compiles, `string('replicas')` (a number) and
 * `string('namespaces')` (no such variable) do not.
 */
export class StackVariables {
  private readonly declared = new Map<VariableName, TerraformVariable>();
  private readonly declaredRules = new Map<VariableName, readonly rules.Rule[]>();
  private readonly context: VariableContext;

  constructor(private readonly stack: TerraformStack, private readonly environment: EnvironmentSettings) {
    this.context = {
      storage: environment.storage,
      exposure: environment.exposure,
      garbageCollection: environment.garbageCollection,
      mirror: environment.mirror !== undefined,
      defaultOf: (name) => this.defaultOf(name as VariableName),
    };
  }

  string(name: VariableNameOfType<'string'>): string {
    return this.declare(name).stringValue;
  }

  number(name: VariableNameOfType<'number'>): number {
    return this.declare(name).numberValue;
  }

  list(name: VariableNameOfType<'list(string)'>): string[] {
    return this.declare(name).listValue;
  }

  bool(name: VariableNameOfType<'bool'>): IResolvable {
    return this.declare(name).booleanValue;
  }

  /** The default the variable has in this environment: the environment's value, else the catalog's. */
  defaultOf<K extends VariableName>(name: K): VariableValue<K> | undefined {
    const own = (this.environment.variables as Record<string, unknown> | undefined)?.[name];
    return (own ?? specOf(name).default) as VariableValue<K> | undefined;
  }

  /** The rules behind a declared variable's validation blocks (for synth-time checks of other values). */
  rulesOf(name: VariableName): readonly rules.Rule[] {
    const found = this.declaredRules.get(name);
    if (!found) throw new Error(`variable ${name} is not declared by this stack`);
    return found;
  }

  isSensitive(name: VariableName): boolean {
    return specOf(name).sensitive === true;
  }

  /** Names of the variables declared so far. */
  get names(): VariableName[] {
    return [...this.declared.keys()];
  }

  /** The stack-level TerraformVariable (declared now if it is not yet). */
  declare(name: VariableName): TerraformVariable {
    const existing = this.declared.get(name);
    if (existing) return existing;
    const spec: VariableSpec = specOf(name);
    const resolve = <T>(value: T | ((context: VariableContext) => T)): T =>
      typeof value === 'function' ? (value as (context: VariableContext) => T)(this.context) : value;
    const variableRules = resolve(spec.rules);
    const defaultValue = this.defaultOf(name);
    // An environment's default is named as the operator wrote it: the environment and `variables.<name>`.
    const own = (this.environment.variables as Record<string, unknown> | undefined)?.[name] !== undefined;
    const field = own ? `environment ${this.environment.name}: variables.${name}` : name;
    if (defaultValue !== undefined) rules.check(field, defaultValue, variableRules, spec.sensitive);
    const variable = new TerraformVariable(this.stack, `var-${name}`, {
      type: spec.type,
      description: resolve(spec.description),
      default: defaultValue,
      sensitive: spec.sensitive,
      nullable: false,
      validation: rules.terraformValidations(name, variableRules, spec.sensitive),
    });
    variable.overrideLogicalId(name);
    this.declared.set(name, variable);
    this.declaredRules.set(name, variableRules);
    return variable;
  }
}
