import { Fn, TerraformIterator, Token } from 'cdktf';
import { BRACKET_IPV6, withImagePort, withPort } from '../hcl';

/**
 * Every "host:port" clients may use: each registry domain and each IP address (IPv6 in brackets) with the port.
 * These name the certs.d directories on nodes and the `auths` keys of pull secrets, exactly as in image references.
 */
export function registryHostPorts(domains: string[], ipAddresses: string[], port: string): string[] {
  return hostsWith(domains, ipAddresses, withPort(port));
}

/**
 * Every registry host as image references write it: "host:port", or the bare host on 443 (the keys of pull secrets:
 * the kubelet matches `registry.example.com/app` to `registry.example.com`, never to `registry.example.com:443`).
 */
export function registryImageHosts(domains: string[], ipAddresses: string[], port: string): string[] {
  return hostsWith(domains, ipAddresses, withImagePort(port));
}

function hostsWith(domains: string[], ipAddresses: string[], body: string): string[] {
  const ipHosts = TerraformIterator.fromList(ipAddresses).forExpressionForList(BRACKET_IPV6);
  return Token.asList(TerraformIterator.fromList(Fn.concat([domains, Token.asList(ipHosts)])).forExpressionForList(body));
}
