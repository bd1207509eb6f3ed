// Public surface of cluster/discovery: the port mapper (EPMD protocol) and peer discovery.
export { DEFAULT_EPMD_PORT, NodeType } from './epmd-codec';
export { PortMapperServer, type PortMapperServerOptions, type KillPolicy } from './port-mapper-server';
export { register, lookupPort, names, type RegistrationHandle, type RegisterOptions, type PortInfo, type NamesReply } from './port-mapper-client';
export { PortMapperError, type PortMapperErrorCode } from './port-mapper-errors';
export { ensurePortMapper, type EnsuredPortMapper, type EnsurePortMapperOptions } from './ensure-port-mapper';
export { PortMapperAgent, type PortMapperAgentOptions } from './port-mapper-agent';
export {
  DEFAULT_ALIVE_NAME,
  parseNodeName,
  formatNodeName,
  isNodeName,
  localNodeName,
  resolveNodeName,
  type NodeName,
  type ResolvedNode,
} from './node-name';
export type { Discovery, DiscoveredPeer, PeerListener } from './discovery';
export { StaticDiscovery, parseNodeList } from './static-discovery';
export { DnsDiscovery, type DnsDiscoveryOptions } from './dns-discovery';
export { MdnsDiscovery, WARREN_SERVICE_TYPE, type MdnsDiscoveryOptions } from './mdns-discovery';
export { CompositeDiscovery, createDiscovery, discoveryConfigFromEnv, type DiscoveryConfig } from './create-discovery';
