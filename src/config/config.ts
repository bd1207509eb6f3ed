/**
 * Warren's settings: one table of options, each with its environment variable, type and
 * default. load() reads the environment (WARREN_*) and validates.
 */
export interface Config {
  nodePort: number;
  nodeIp: string;
  dataDir: string;
  logLevel: string;
  nodeName: string;
  channelMax: number;
  frameMaxBytes: number;
  heartbeatSeconds: number;
  defaultUser: string;
  defaultPass: string;
  defaultVhost: string;
  memoryHighWatermark: string;
  diskFreeLimit: string;
  cluster: string;
  clusterNodes: string;
  clusterDns: string;
  clusterMdns: string;
  distPort: number;
  epmdPort: number;
  clusterTickMs: number;
  raftTickMs: number;
  metadataTimeoutMs: number;
  maxConnections: string;
}

type OptionType = 'int' | 'string';

interface Option {
  key: keyof Config;
  env: string;
  type: OptionType;
  default: (partial: Partial<Config>) => string | number;
  doc: string;
}

export const OPTIONS: Option[] = [
  { key: 'nodePort', env: 'WARREN_NODE_PORT', type: 'int', default: () => 5672, doc: 'AMQP listener port' },
  { key: 'nodeIp', env: 'WARREN_NODE_IP', type: 'string', default: () => '0.0.0.0', doc: 'AMQP listener address' },
  { key: 'dataDir', env: 'WARREN_DATA_DIR', type: 'string', default: () => './data', doc: 'directory for messages, metadata and the cluster secret' },
  { key: 'logLevel', env: 'WARREN_LOG_LEVEL', type: 'string', default: () => 'info', doc: 'pino log level' },
  { key: 'nodeName', env: 'WARREN_NODENAME', type: 'string', default: () => `warren@${require('node:os').hostname()}`, doc: 'node name, warren@HOST' },
  { key: 'channelMax', env: 'WARREN_CHANNEL_MAX', type: 'int', default: () => 2047, doc: 'channel_max proposed in connection.tune' },
  { key: 'frameMaxBytes', env: 'WARREN_FRAME_MAX', type: 'int', default: () => 131072, doc: 'frame_max proposed in connection.tune' },
  { key: 'heartbeatSeconds', env: 'WARREN_HEARTBEAT', type: 'int', default: () => 60, doc: 'heartbeat proposed in connection.tune, seconds' },
  { key: 'defaultUser', env: 'WARREN_DEFAULT_USER', type: 'string', default: () => 'guest', doc: 'user created on first start' },
  { key: 'defaultPass', env: 'WARREN_DEFAULT_PASS', type: 'string', default: () => 'guest', doc: 'password of the default user' },
  { key: 'memoryHighWatermark', env: 'WARREN_VM_MEMORY_HIGH_WATERMARK', type: 'string', default: () => '0.4', doc: 'memory alarm threshold: fraction of RAM (0.4) or absolute size (512MB)' },
  { key: 'diskFreeLimit', env: 'WARREN_DISK_FREE_LIMIT', type: 'string', default: () => '50MB', doc: 'disk alarm threshold: free bytes on the data dir disk (50MB)' },
  { key: 'defaultVhost', env: 'WARREN_DEFAULT_VHOST', type: 'string', default: () => '/', doc: 'vhost created on first start' },
  { key: 'cluster', env: 'WARREN_CLUSTER', type: 'string', default: () => 'auto', doc: 'auto (clustered when peers, DNS or mDNS discovery are configured, or the data dir holds Raft state), on, off' },
  { key: 'clusterNodes', env: 'WARREN_CLUSTER_NODES', type: 'string', default: () => '', doc: 'static peer list: warren@a,warren@b' },
  { key: 'clusterDns', env: 'WARREN_CLUSTER_DNS', type: 'string', default: () => '', doc: 'DNS names resolved into peers warren@<address> (e.g. a docker-compose service), comma-separated' },
  { key: 'clusterMdns', env: 'WARREN_CLUSTER_MDNS', type: 'string', default: () => '', doc: 'true: announce and discover peers with mDNS on the local link' },
  { key: 'distPort', env: 'WARREN_DIST_PORT', type: 'int', default: (c) => (c.nodePort ?? 5672) + 20000, doc: 'inter-node (mesh) port; default NODE_PORT + 20000' },
  { key: 'epmdPort', env: 'WARREN_EPMD_PORT', type: 'int', default: () => 4369, doc: 'port mapper port (epmd protocol) shared by the nodes of a host' },
  { key: 'clusterTickMs', env: 'WARREN_CLUSTER_TICK_MS', type: 'int', default: () => 4000, doc: 'a silent peer is marked down after this long (net_ticktime role)' },
  { key: 'raftTickMs', env: 'WARREN_RAFT_TICK_MS', type: 'int', default: () => 100, doc: 'Raft tick; elections time out after 10 to 20 ticks' },
  { key: 'metadataTimeoutMs', env: 'WARREN_METADATA_TIMEOUT_MS', type: 'int', default: () => 5000, doc: 'a metadata change without a Raft quorum fails after this long' },
  { key: 'maxConnections', env: 'WARREN_MAX_CONNECTIONS', type: 'string', default: () => 'auto', doc: 'open AMQP connections beyond which new sockets are closed at once: auto (the file descriptor limit less a 10 % reserve), infinity, or a number' },
];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config: Partial<Config> = {};
  for (const opt of OPTIONS) {
    const raw = env[opt.env];
    let value: string | number = raw === undefined || raw === '' ? opt.default(config) : raw;
    if (opt.type === 'int') {
      value = Number(value);
      if (!Number.isInteger(value) || value < 0) throw new Error(`${opt.env} must be a non-negative integer, got '${raw}'`);
    }
    (config as Record<string, unknown>)[opt.key] = value;
  }
  return config as Config;
}
