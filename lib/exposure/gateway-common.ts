/** What the Gateway API exposures (TLS passthrough: gateway.ts; HTTPS: gateway-https.ts) share. */
import { conditional, Fn, Op, Token } from 'cdktf';
import * as rules from '../rules';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
export const GATEWAY_API_VERSION = `${GATEWAY_API_GROUP}/v1`;

/** A non-empty string expression (cdktf renders a literal "" or 0 operand of `Op.*` as nothing: compare lengths). */
export const isSet = (value: string) => Op.gte(Fn.lengthOf(value), 1);

/** Synth-time check of a prop that is a literal; Terraform expressions are judged by their variables' rules. */
export function checkLiteral(owner: string, field: string, value: unknown, fieldRules: readonly rules.Rule[]): void {
  const unresolved = Array.isArray(value) ? Token.isUnresolved(value) || value.some((x) => Token.isUnresolved(x)) : Token.isUnresolved(value);
  if (!unresolved) rules.check(`${owner} ${field}`, value, fieldRules);
}

/** A route's reference to its Gateway, with the listener when one is named ("" from a variable: none). */
export function parentRefTo(ref: { name: string; namespace: string }, sectionName: string | undefined): Record<string, unknown> {
  if (sectionName === undefined) return ref;
  if (!Token.isUnresolved(sectionName)) return { ...ref, sectionName };
  // A variable: the key is left out when it is empty (a null sectionName would reach Helm as `null`).
  return Fn.merge([ref, conditional(isSet(sectionName), { sectionName }, {})]) as unknown as Record<string, unknown>;
}
