import { Fn, TerraformIterator, Token } from 'cdktf';
import { BRACKET_IPV6, withPort } from '../hcl';

/**
 * Every "host:port" clients may use: each registry domain and each IP address (IPv6 in brackets) with the port.
 * These name the certs.d directories on nodes and the `auths` keys of pull secrets, exactly as in image references.
 */
export function registryHostPorts(domains: string[], ipAddresses: string[], port: string): string[] {
  const ipHosts = TerraformIterator.fromList(ipAddresses).forExpressionForList(BRACKET_IPV6);
  return Token.asList(TerraformIterator.fromList(Fn.concat([domains, Token.asList(ipHosts)])).forExpressionForList(withPort(port)));
}
