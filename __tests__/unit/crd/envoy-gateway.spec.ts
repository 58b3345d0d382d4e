/**
 * The Envoy Gateway v1.9.0 policy CRDs through validateCustomResource: the BackendTrafficPolicy and
 * ClientTrafficPolicy that lift Envoy's upload limits pass; each CEL rule family they touch (target references,
 * timeouts, TLS versions) and the schema's duration and quantity patterns refuse a broken one.
 */
import { formatErrors, validateCustomResource } from '../../../harness/crd';

const ENVOY_GATEWAY = 'gateway.envoyproxy.io/v1alpha1';
const routeRef = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'registry' };
const gatewayRef = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'registry-gateway' };
const errors = (object: unknown) => formatErrors(validateCustomResource(object));

const backendTraffic = (spec: Record<string, unknown>) => ({ apiVersion: ENVOY_GATEWAY, kind: 'BackendTrafficPolicy', metadata: { name: 'registry', namespace: 'registry' }, spec });
const clientTraffic = (spec: Record<string, unknown>) => ({ apiVersion: ENVOY_GATEWAY, kind: 'ClientTrafficPolicy', metadata: { name: 'registry-gateway', namespace: 'gateway-system' }, spec });

describe('Envoy Gateway v1.9.0 CRDs through validateCustomResource', () => {
  describe('BackendTrafficPolicy', () => {
    test('on the route: no request timeout, a long stream idle timeout', () => {
      expect(errors(backendTraffic({ targetRefs: [routeRef], timeout: { http: { requestTimeout: '0s', streamIdleTimeout: '1h' } } }))).toEqual([]);
    });

    test('target references: one of targetRef/targetRefs, Gateway API kinds only', () => {
      expect(errors(backendTraffic({ targetRef: routeRef, targetRefs: [routeRef] }))).toEqual(['spec: Invalid value: either targetRef or targetRefs must be used']);
      expect(errors(backendTraffic({ timeout: { http: { requestTimeout: '0s' } } }))).toEqual(['spec: Invalid value: either targetRef or targetRefs must be used']);
      expect(errors(backendTraffic({ targetRefs: [{ group: '', kind: 'Service', name: 'registry' }] }))).toEqual([
        'spec: Invalid value: this policy can only have a targetRefs[*].group of gateway.networking.k8s.io',
        'spec: Invalid value: this policy can only have a targetRefs[*].kind of Gateway/ListenerSet/HTTPRoute/GRPCRoute/TCPRoute/UDPRoute/TLSRoute',
      ]);
    });

    test('durations: the Gateway API form; an HTTP/2 keepalive times out before its next interval', () => {
      expect(errors(backendTraffic({ targetRefs: [routeRef], timeout: { http: { requestTimeout: '15 seconds' } } }))).toEqual([
        "spec.timeout.http.requestTimeout: Invalid value: \"15 seconds\": should match '^([0-9]{1,5}(h|m|s|ms)){1,4}$'",
      ]);
      expect(errors(backendTraffic({ targetRefs: [routeRef], http2: { connectionKeepalive: { interval: '30s', timeout: '10s' } } }))).toEqual([]);
      expect(errors(backendTraffic({ targetRefs: [routeRef], http2: { connectionKeepalive: { interval: '5s', timeout: '10s' } } }))).toEqual([
        'spec.http2.connectionKeepalive: Invalid value: timeout must be less than interval',
      ]);
    });
  });

  describe('ClientTrafficPolicy', () => {
    test('on the created Gateway: the client-side stream idle timeout and buffer', () => {
      expect(errors(clientTraffic({ targetRefs: [gatewayRef], timeout: { http: { streamIdleTimeout: '1h', requestReceivedTimeout: '0s' } }, connection: { bufferLimit: '1Mi' } }))).toEqual([]);
    });

    test('targets a Gateway or ListenerSet, not a route', () => {
      expect(errors(clientTraffic({ targetRefs: [routeRef] }))).toEqual(['spec: Invalid value: this policy can only have a targetRefs[*].kind of Gateway or ListenerSet']);
    });

    test('TLS versions in order (a map-literal rule); bufferLimit a quantity (two allOf patterns)', () => {
      expect(errors(clientTraffic({ targetRefs: [gatewayRef], tls: { minVersion: '1.3', maxVersion: '1.2' } }))).toEqual([
        'spec.tls: Invalid value: minVersion must be smaller or equal to maxVersion',
      ]);
      expect(errors(clientTraffic({ targetRefs: [gatewayRef], connection: { bufferLimit: 'lots' } }))).toEqual([
        expect.stringMatching(/^spec\.connection\.bufferLimit: Invalid value: "lots": should match '\^\(\\\+\|-\)\?/),
        "spec.connection.bufferLimit: Invalid value: \"lots\": should match '^[1-9]+[0-9]*([EPTGMK]i|[EPTGMk])?$'",
      ]);
    });
  });
});
