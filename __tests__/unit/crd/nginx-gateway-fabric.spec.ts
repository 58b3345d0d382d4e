/**
 * The NGINX Gateway Fabric v2.6.7 ClientSettingsPolicy CRD through validateCustomResource: the policy that lifts
 * NGF's 1 MiB body limit and 60 s body timeout passes; its three CEL rules and its size/duration patterns refuse a
 * broken one.
 */
import { formatErrors, validateCustomResource } from '../../../harness/crd';

const routeRef = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'registry' };
const errors = (object: unknown) => formatErrors(validateCustomResource(object));
const clientSettings = (spec: Record<string, unknown>) => ({ apiVersion: 'gateway.nginx.org/v1alpha1', kind: 'ClientSettingsPolicy', metadata: { name: 'registry', namespace: 'registry' }, spec });

describe('NGINX Gateway Fabric v2.6.7 ClientSettingsPolicy through validateCustomResource', () => {
  test('on the route: no body size limit, a 10 minute body timeout', () => {
    expect(errors(clientSettings({ targetRef: routeRef, body: { maxSize: '0', timeout: '10m' } }))).toEqual([]);
  });

  test('targetRef: a Gateway API Gateway, HTTPRoute or GRPCRoute', () => {
    expect(errors(clientSettings({ targetRef: { group: '', kind: 'Service', name: 'registry' }, body: { maxSize: '0' } }))).toEqual([
      'spec.targetRef: Invalid value: TargetRef Kind must be one of: Gateway, HTTPRoute, or GRPCRoute',
      'spec.targetRef: Invalid value: TargetRef Group must be gateway.networking.k8s.io.',
    ]);
  });

  test('sizes and durations in nginx\'s own form', () => {
    expect(errors(clientSettings({ targetRef: routeRef, body: { maxSize: '1 GiB', timeout: '10 minutes' } }))).toEqual([
      "spec.body.maxSize: Invalid value: \"1 GiB\": should match '^\\d{1,4}(k|m|g)?$'",
      "spec.body.timeout: Invalid value: \"10 minutes\": should match '^[0-9]{1,4}(ms|s|m|h)?$'",
    ]);
  });

  test('keepAlive: a header timeout only with a server timeout', () => {
    expect(errors(clientSettings({ targetRef: routeRef, keepAlive: { timeout: { header: '10s' } } }))).toEqual([
      'spec.keepAlive.timeout: Invalid value: header can only be specified if server is specified',
    ]);
  });
});
