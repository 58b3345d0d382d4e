/**
 * Validates the Gateway API objects the stack emits (TLSRoute and Gateway, gateway.networking.k8s.io/v1) with the
 * generic CRD validator (harness/crd: envelope, defaulting, structural schema, every CEL rule of the pinned
 * Gateway API CRDs), plus the named conventions below: rules the CRD does not enforce but the Gateway API field
 * docs or conformance tests state, or that this project requires of what it emits (opt out with
 * `{ conventions: false }`). Data: harness/data/gateway-api-<tag>/ (see SOURCE.md there).
 */
import { CRD_RELEASES } from './crd/catalog';
import { isIP } from './crd/cel';
import { show, type ValidationError } from './crd/errors';
import { validateAs, withDefaults } from './crd';

export { formatErrors } from './crd/errors';

export const GATEWAY_API_TAG = CRD_RELEASES['gateway-api'];

export type GatewayApiError = ValidationError;

export interface ValidateOptions {
  /** Also check the named conventions (not enforced by the CRD). @default true */
  readonly conventions?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Conventions (not enforced by the CRD)

export interface Convention {
  readonly name: string;
  /** Where the rule comes from. */
  readonly basis: string;
  readonly check: (spec: any) => Array<{ path: string; message: string }>;
}

export const TLSROUTE_CONVENTIONS: readonly Convention[] = [
  {
    name: 'tlsroute-has-parent',
    basis: 'project: the CRD leaves spec.parentRefs optional, but a route with no parentRefs attaches to nothing',
    check: (spec) => (Array.isArray(spec?.parentRefs) && spec.parentRefs.length > 0 ? [] : [{ path: 'spec.parentRefs', message: 'Required value: the route must name the Gateway it attaches to (convention tlsroute-has-parent)' }]),
  },
];

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const isPassthrough = (l: any) => l?.protocol === 'TLS' && l?.tls?.mode === 'Passthrough';
const listenersOf = (spec: any): any[] => (Array.isArray(spec?.listeners) ? spec.listeners : []);

export const GATEWAY_CONVENTIONS: readonly Convention[] = [
  {
    name: 'passthrough-no-certificate-refs',
    basis: 'GatewayTLSConfig.mode docs: "The certificateRefs field is ignored in this mode"; the registry terminates TLS, a certificate on the Gateway would be a lie',
    check: (spec) => listenersOf(spec).flatMap((l, i) =>
      isPassthrough(l) && Array.isArray(l.tls.certificateRefs) && l.tls.certificateRefs.length > 0
        ? [{ path: `spec.listeners[${i}].tls.certificateRefs`, message: 'Forbidden: must be empty when tls.mode is Passthrough (the Gateway does not terminate TLS) (convention passthrough-no-certificate-refs)' }]
        : []),
  },
  {
    name: 'passthrough-allows-only-tlsroute',
    basis: 'conformance TLSRouteListenerPassthroughSupportedKinds: other kinds on a Passthrough listener give ResolvedRefs=False/InvalidRouteKinds',
    check: (spec) => listenersOf(spec).flatMap((l, i) =>
      (isPassthrough(l) && Array.isArray(l.allowedRoutes?.kinds) ? l.allowedRoutes.kinds : []).flatMap((k: any, j: number) =>
        (k?.group ?? GATEWAY_GROUP) === GATEWAY_GROUP && k?.kind === 'TLSRoute'
          ? []
          : [{ path: `spec.listeners[${i}].allowedRoutes.kinds[${j}]`, message: `Unsupported value: ${show(k)}: a Passthrough listener admits only {"group":"${GATEWAY_GROUP}","kind":"TLSRoute"} (convention passthrough-allows-only-tlsroute)` }])),
  },
  {
    name: 'namespace-selector-when-from-selector',
    basis: 'RouteNamespaces.selector docs: "Selector must be specified when From is set to Selector"; an empty selector selects every namespace; LabelSelector operator/values rules',
    check: (spec) => listenersOf(spec).flatMap((l, i) => {
      const ns = l?.allowedRoutes?.namespaces;
      const p = `spec.listeners[${i}].allowedRoutes.namespaces.selector`;
      if (ns?.from !== 'Selector') return [];
      const selector = ns.selector;
      const labels = Object.keys(selector?.matchLabels ?? {});
      const expressions: any[] = selector?.matchExpressions ?? [];
      if (labels.length === 0 && expressions.length === 0) {
        return [{ path: p, message: 'Required value: a non-empty selector is required when from is Selector (convention namespace-selector-when-from-selector)' }];
      }
      return expressions.flatMap((x, j) => {
        const xp = `${p}.matchExpressions[${j}]`;
        if (!SELECTOR_OPERATORS.includes(x.operator)) return [{ path: `${xp}.operator`, message: `Unsupported value: ${show(x.operator)}: supported values: ${SELECTOR_OPERATORS.map(show).join(', ')} (convention namespace-selector-when-from-selector)` }];
        const count = Array.isArray(x.values) ? x.values.length : 0;
        const needsValues = x.operator === 'In' || x.operator === 'NotIn';
        if (needsValues !== count > 0) return [{ path: `${xp}.values`, message: `Invalid value: ${show(x.values ?? null)}: must be ${needsValues ? 'non-empty' : 'empty'} for operator ${x.operator} (convention namespace-selector-when-from-selector)` }];
        return [];
      });
    }),
  },
  {
    name: 'listener-hostname-not-ip',
    basis: 'Hostname docs: "IPs are not allowed" (enforced by CEL on route hostnames, not on listener.hostname)',
    check: (spec) => listenersOf(spec).flatMap((l, i) =>
      typeof l?.hostname === 'string' && isIP(l.hostname)
        ? [{ path: `spec.listeners[${i}].hostname`, message: `Invalid value: ${show(l.hostname)}: must be a DNS name, not an IP (convention listener-hostname-not-ip)` }]
        : []),
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Entry points

const GATEWAY_API_VERSION = `${GATEWAY_GROUP}/v1`;

function withConventions(errors: ValidationError[], obj: unknown, conventions: readonly Convention[], options: ValidateOptions): ValidationError[] {
  if (options.conventions === false) return errors;
  // Conventions judge the object as the API server stores it: with the CRD's defaults (kind: Gateway, group …).
  const spec = (withDefaults(obj) as any)?.spec;
  for (const c of conventions) for (const e of c.check(spec)) errors.push({ ...e, origin: 'convention', rule: c.name });
  return errors;
}

/** Errors that would keep `obj` (a gateway.networking.k8s.io/v1 TLSRoute) out of the API server, and broken conventions. */
export function validateTlsRoute(obj: unknown, options: ValidateOptions = {}): GatewayApiError[] {
  return withConventions(validateAs(GATEWAY_API_VERSION, 'TLSRoute', obj), obj, TLSROUTE_CONVENTIONS, options);
}

/** Errors that would keep `obj` (a gateway.networking.k8s.io/v1 Gateway) out of the API server, and broken conventions. */
export function validateGateway(obj: unknown, options: ValidateOptions = {}): GatewayApiError[] {
  return withConventions(validateAs(GATEWAY_API_VERSION, 'Gateway', obj), obj, GATEWAY_CONVENTIONS, options);
}
