import { formatErrors, validateCustomResource } from './harness/crd';
const route: any = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'TLSRoute', metadata: { name: 'registry', namespace: 'registry' },
  spec: { parentRefs: [{ name: 'registry-gateway', namespace: 'gateway-system', sectionName: 'registry-tls' }], hostnames: ['registry.example.internal'], rules: [{ backendRefs: [{ name: 'registry', port: 5000 }] }] } };
const v = (o: any) => console.log(formatErrors(validateCustomResource(o)));
v(route);
v({ ...route, spec: { ...route.spec, hostnames: ['10.0.0.1', 'fd00::1', 'A.b'] } });
v({ ...route, spec: { ...route.spec, rules: [{ backendRefs: [{ name: 'registry' }] }] } });
v({ ...route, spec: { ...route.spec, parentRefs: [{ name: 'g' }, { name: 'g' }] } });
v({ ...route, spec: { ...route.spec, rules: [{ backendRefs: [{ name: 'registry', port: '5000' }] }] } });
const gw: any = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'g' }, spec: { gatewayClassName: 'x', listeners: [{ name: 'a', port: 443, protocol: 'TLS', tls: {} }], addresses: [{ type: 'IPAddress', value: '10.0.0.300' }] } };
v(gw);
const hr: any = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r' }, spec: { parentRefs: [{ name: 'g' }], hostnames: ['r.example.com'], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 's', port: 5000 }], timeouts: { request: '0s', backendRequest: '10m' } }] } };
v(hr);
hr.spec.rules[0].timeouts = { request: '1m', backendRequest: '10m' }; v(hr);
