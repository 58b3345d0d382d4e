import { compileCrd, pinnedCrds, validateCustomResource } from './harness/crd';
const t0 = performance.now();
const load = require('fs');
const times: string[] = [];
for (const crd of pinnedCrds().values()) { const s = performance.now(); compileCrd(crd); times.push(`${crd.kind}/${crd.version} ${(performance.now() - s).toFixed(0)}`); }
const compileAll = performance.now() - t0;
const routeRef = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'registry' };
const meta = { name: 'registry', namespace: 'registry' };
const objects = [
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: meta, spec: { parentRefs: [{ name: 'gw', namespace: 'gateway-system' }], hostnames: ['registry.example.com'], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/v2/' } }], backendRefs: [{ name: 'registry', port: 5000 }] }] } },
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'TLSRoute', metadata: meta, spec: { parentRefs: [{ name: 'gw', namespace: 'gateway-system', sectionName: 'tls' }], hostnames: ['registry.example.com'], rules: [{ backendRefs: [{ name: 'registry', port: 5000 }] }] } },
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'BackendTLSPolicy', metadata: meta, spec: { targetRefs: [{ group: '', kind: 'Service', name: 'registry' }], validation: { hostname: 'registry.example.com', wellKnownCACertificates: 'System' } } },
  { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: meta, spec: { secretName: 'registry-tls', dnsNames: ['registry.example.com'], issuerRef: { kind: 'ClusterIssuer', name: 'le' } } },
  { apiVersion: 'gateway.envoyproxy.io/v1alpha1', kind: 'BackendTrafficPolicy', metadata: meta, spec: { targetRefs: [routeRef], timeout: { http: { requestTimeout: '0s', streamIdleTimeout: '1h' } } } },
  { apiVersion: 'gateway.envoyproxy.io/v1alpha1', kind: 'ClientTrafficPolicy', metadata: meta, spec: { targetRefs: [{ ...routeRef, kind: 'Gateway' }], timeout: { http: { streamIdleTimeout: '1h' } } } },
  { apiVersion: 'gateway.nginx.org/v1alpha1', kind: 'ClientSettingsPolicy', metadata: meta, spec: { targetRef: routeRef, body: { maxSize: '0', timeout: '10m' } } },
];
for (const o of objects) if (validateCustomResource(o).length) throw new Error(o.kind);
const N = 500; const s = performance.now();
for (let i = 0; i < N; i++) for (const o of objects) validateCustomResource(o);
console.log(`compile all ${pinnedCrds().size} CRD versions: ${compileAll.toFixed(0)} ms (${times.join(', ')})`);
console.log(`validate ${objects.length} objects x ${N}: ${((performance.now() - s) / N / objects.length).toFixed(3)} ms per object`);
