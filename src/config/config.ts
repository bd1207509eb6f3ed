/**
 * Warren's settings: one table of options, each with its environment variable, its
 * rabbitmq.conf key where RabbitMQ has the same option, type, default and doc. loadConfig()
 * reads the file named by WARREN_CONFIG_FILE (rabbitmq.conf's format and keys), then the
 * environment (WARREN_*), which overrides it, and validates.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfFileError, parseConfFile, type ConfEntry } from './conf-file';

export interface Config {
  nodePort: number;
  nodeIp: string;
  dataDir: string;
  logLevel: string;
  nodeName: string;
  channelMax: number;
  frameMaxBytes: number;
  heartbeatSeconds: number;
  consumerTimeoutMs: number;
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
  quorumTickMs: number;
  quorumSnapshotEntries: number;
  quorumMemoryBytes: number;
  quorumSnapshotBytes: number;
  quorumReattachHoldMs: number;
  quorumCmrEnabled: boolean;
  quorumCmrAutoRemove: boolean;
  quorumTargetGroupSize: number;
  quorumCmrIntervalMs: number;
  quorumCmrTriggerIntervalMs: number;
  metadataTimeoutMs: number;
  maxConnections: string;
  socketLimit: string;
  sslPort: number;
  sslCertFile: string;
  sslKeyFile: string;
  sslCaCertFile: string;
  sslVerify: string;
  sslFailIfNoPeerCert: boolean;
  sslVersions: string;
  sslCiphers: string;
  sslCertLoginFrom: string;
  sslCertLoginSanType: string;
  sslCertLoginSanIndex: number;
  authMechanisms: string;
  loopbackUsers: string;
  queueMemoryMessages: number;
  queueMemoryBytes: number;
  queuePageBatch: number;
  storeCacheBytes: number;
  storeStatsMs: number;
  gcHeadroomMb: number;
  mgmtPort: number;
  mgmtIp: string;
  prometheusPort: number;
  mgmtSampleIntervalMs: number;
  mgmtDisableStats: boolean;
  mgmtRequestMaxBytes: number;
  mgmtQueueHistoryMax: number;
  mgmtObjectHistoryMax: number;
  mqttPort: number;
  mqttSslPort: number;
  stompSslPort: number;
  mqttVhost: string;
  mqttExchange: string;
  mqttPrefetch: number;
  mqttMaxSessionExpirySeconds: number;
  stompPort: number;
  stompDefaultVhost: string;
  webStompPort: number;
  webMqttPort: number;
}

type OptionType = 'int' | 'string' | 'bool';

export interface Option {
  key: keyof Config;
  env: string;
  type: OptionType;
  /**
   * rabbitmq.conf keys setting this option. `prefix.*` collects a list (`auth_mechanisms.1 =
   * PLAIN`), in key order, as a comma-separated value; several keys for one option are
   * alternatives (the later in this list wins).
   */
  conf?: string[];
  /** Turns the file's values into the option's (when the file's shape differs from the variable's). */
  fromConf?: (entries: ConfEntry[]) => string | undefined;
  /** Allowed values, when the option is one of a few words. */
  oneOf?: string[];
  default: (partial: Partial<Config>) => string | number | boolean;
  doc: string;
}

/** `listeners.tcp.default = 5672` or `= 127.0.0.1:5672` / `:::5672`: the port. */
const listenerPort = (entries: ConfEntry[]) => {
  const v = entries[entries.length - 1].value;
  return v === 'none' ? '0' : v.slice(v.lastIndexOf(':') + 1);
};
/** The address part of a listener, when given. */
const listenerIp = (entries: ConfEntry[]) => {
  const v = entries[entries.length - 1].value;
  const colon = v.lastIndexOf(':');
  return colon <= 0 ? undefined : v.slice(0, colon).replace(/^\[|\]$/g, '');
};
/** `loopback_users = none`, or `loopback_users.guest = true` for each listed user. */
const loopbackUsers = (entries: ConfEntry[]) => {
  if (entries.some((e) => e.key === 'loopback_users' && e.value === 'none')) return '';
  return entries.filter((e) => e.key.startsWith('loopback_users.') && e.value === 'true').map((e) => e.key.slice('loopback_users.'.length)).join(',');
};
/** rabbitmq.conf's level names that pino spells otherwise. */
const LOG_LEVEL_ALIASES: Record<string, string> = { warning: 'warn', critical: 'fatal', none: 'silent' };
/** RabbitMQ writes versions as `tlsv1.2`; Node as `TLSv1.2`. */
const TLS_VERSIONS = ['tlsv1.3', 'tlsv1.2', 'tlsv1.1', 'tlsv1'];

export const OPTIONS: Option[] = [
  { key: 'nodePort', env: 'WARREN_NODE_PORT', conf: ['listeners.tcp.*'], fromConf: listenerPort, type: 'int', default: () => 5672, doc: 'AMQP listener port' },
  { key: 'nodeIp', env: 'WARREN_NODE_IP', conf: ['listeners.tcp.*'], fromConf: listenerIp, type: 'string', default: () => '::', doc: "AMQP (and AMQPS) listener address; '::' (the default) is IPv6 and IPv4 together, or 0.0.0.0 where IPv6 is unavailable" },
  { key: 'dataDir', env: 'WARREN_DATA_DIR', type: 'string', default: () => './data', doc: 'directory for messages, metadata and the cluster secret' },
  { key: 'logLevel', env: 'WARREN_LOG_LEVEL', conf: ['log.console.level'], type: 'string', oneOf: ['trace', 'debug', 'info', 'warning', 'warn', 'error', 'critical', 'fatal', 'none', 'silent'], default: () => 'info', doc: 'log level' },
  { key: 'nodeName', env: 'WARREN_NODENAME', type: 'string', default: () => `warren@${hostname()}`, doc: 'node name, warren@HOST' },
  { key: 'channelMax', env: 'WARREN_CHANNEL_MAX', conf: ['channel_max', 'max_channels_per_connection'], type: 'int', default: () => 2047, doc: 'channel_max proposed in connection.tune' },
  { key: 'frameMaxBytes', env: 'WARREN_FRAME_MAX', conf: ['frame_max'], type: 'int', default: () => 131072, doc: 'frame_max proposed in connection.tune' },
  { key: 'heartbeatSeconds', env: 'WARREN_HEARTBEAT', conf: ['heartbeat'], type: 'int', default: () => 60, doc: 'heartbeat proposed in connection.tune, seconds' },
  { key: 'consumerTimeoutMs', env: 'WARREN_CONSUMER_TIMEOUT', conf: ['consumer_timeout'], type: 'int', default: () => 1_800_000, doc: "a delivery not acknowledged within this many ms times out: a quorum queue's consumer on a client with consumer_cancel_notify is cancelled (basic.cancel) and its timed-out deliveries returned (RabbitMQ 4.3); otherwise its channel is closed (406 PRECONDITION_FAILED) and its unacked messages return to their queues; 0 = off; a consumer's x-consumer-timeout argument, else a queue's x-consumer-timeout argument or consumer-timeout policy key overrides it; checked every 5 s (every quarter of the timeout when shorter)" },
  { key: 'defaultUser', env: 'WARREN_DEFAULT_USER', conf: ['default_user'], type: 'string', default: () => 'guest', doc: 'user created on first start' },
  { key: 'defaultPass', env: 'WARREN_DEFAULT_PASS', conf: ['default_pass'], type: 'string', default: () => 'guest', doc: 'password of the default user' },
  { key: 'memoryHighWatermark', env: 'WARREN_VM_MEMORY_HIGH_WATERMARK', conf: ['vm_memory_high_watermark.relative', 'vm_memory_high_watermark.absolute'], type: 'string', default: () => '0.4', doc: 'memory alarm threshold on the process RSS: fraction of RAM (0.4) or absolute size (512MB)' },
  { key: 'diskFreeLimit', env: 'WARREN_DISK_FREE_LIMIT', conf: ['disk_free_limit.absolute'], type: 'string', default: () => '50MB', doc: 'disk alarm threshold: free bytes on the data dir disk (50MB)' },
  { key: 'defaultVhost', env: 'WARREN_DEFAULT_VHOST', conf: ['default_vhost'], type: 'string', default: () => '/', doc: 'vhost created on first start' },
  { key: 'cluster', env: 'WARREN_CLUSTER', type: 'string', oneOf: ['auto', 'on', 'off'], default: () => 'auto', doc: 'auto (clustered when peers, DNS or mDNS discovery are configured, or the data dir holds Raft state), on, off' },
  { key: 'clusterNodes', env: 'WARREN_CLUSTER_NODES', type: 'string', default: () => '', doc: 'static peer list: warren@a,warren@b' },
  { key: 'clusterDns', env: 'WARREN_CLUSTER_DNS', type: 'string', default: () => '', doc: 'DNS names resolved into peers warren@<address> (e.g. a docker-compose service), comma-separated' },
  { key: 'clusterMdns', env: 'WARREN_CLUSTER_MDNS', type: 'string', default: () => '', doc: 'true: announce and discover peers with mDNS on the local link' },
  { key: 'distPort', env: 'WARREN_DIST_PORT', type: 'int', default: (c) => (c.nodePort ?? 5672) + 20000, doc: 'inter-node (mesh) port; default NODE_PORT + 20000' },
  { key: 'epmdPort', env: 'WARREN_EPMD_PORT', type: 'int', default: () => 4369, doc: 'port mapper port (epmd protocol) shared by the nodes of a host' },
  { key: 'clusterTickMs', env: 'WARREN_CLUSTER_TICK_MS', type: 'int', default: () => 4000, doc: 'a silent peer is marked down after this long (net_ticktime role)' },
  { key: 'raftTickMs', env: 'WARREN_RAFT_TICK_MS', type: 'int', default: () => 100, doc: 'Raft tick; elections time out after 10 to 20 ticks' },
  { key: 'mgmtPort', env: 'WARREN_MGMT_PORT', conf: ['management.tcp.port'], type: 'int', default: () => 15672, doc: 'management HTTP API and web UI port; 0 turns the listener off' },
  { key: 'mgmtIp', env: 'WARREN_MGMT_IP', conf: ['management.tcp.ip'], type: 'string', default: () => '0.0.0.0', doc: 'address of the management and Prometheus listeners' },
  { key: 'prometheusPort', env: 'WARREN_PROMETHEUS_PORT', conf: ['prometheus.tcp.port'], type: 'int', default: () => 15692, doc: 'Prometheus metrics port (/metrics, /metrics/per-object); 0 turns the listener off' },
  { key: 'mgmtSampleIntervalMs', env: 'WARREN_MGMT_SAMPLE_INTERVAL_MS', conf: ['collect_statistics_interval'], type: 'int', default: () => 5000, doc: 'how often message rates and chart samples are taken (RabbitMQ collect_statistics_interval)' },
  { key: 'mgmtQueueHistoryMax', env: 'WARREN_MGMT_QUEUE_HISTORY_MAX', type: 'int', default: () => 10_000, doc: 'most queues whose last ten minutes of rates and lengths are kept for the queue page chart at once (about 5 KB each, only while the queue is active)' },
  { key: 'mgmtDisableStats', env: 'WARREN_MGMT_DISABLE_STATS', conf: ['management.disable_stats', 'management_agent.disable_metrics_collector'], type: 'bool', default: () => false, doc: 'true: no message rates, rate history or charts are sampled (RabbitMQ management.disable_stats); counts stay' },
  { key: 'mgmtObjectHistoryMax', env: 'WARREN_MGMT_OBJECT_HISTORY_MAX', type: 'int', default: () => 2_000, doc: 'most exchanges, vhosts, connections and channels (each kind counted apart) whose last ten minutes of rates are kept for their page charts at once (1 to 7 KB each, only while the object is active)' },
  { key: 'mgmtRequestMaxBytes', env: 'WARREN_MGMT_REQUEST_MAX_BYTES', conf: ['management.http.max_body_size'], type: 'int', default: () => 64 * 1024 * 1024, doc: 'largest management request body (definitions import), bytes' },
  { key: 'mqttPort', env: 'WARREN_MQTT_PORT', conf: ['mqtt.listeners.tcp.*'], fromConf: listenerPort, type: 'int', default: () => 1883, doc: 'MQTT listener port on NODE_IP (0 = off; a port already taken leaves the listener off with an error in the log, as for the STOMP and WebSocket ports)' },
  { key: 'mqttSslPort', env: 'WARREN_MQTT_SSL_PORT', conf: ['mqtt.listeners.ssl.*'], fromConf: listenerPort, type: 'int', default: () => 0, doc: 'MQTTS (MQTT over TLS) port, conventionally 8883, with the ssl_options.* of AMQPS; 0 = off' },
  { key: 'stompSslPort', env: 'WARREN_STOMP_SSL_PORT', conf: ['stomp.listeners.ssl.*'], fromConf: listenerPort, type: 'int', default: () => 0, doc: 'STOMPS (STOMP over TLS) port, conventionally 61614, with the ssl_options.* of AMQPS; 0 = off' },
  { key: 'mqttVhost', env: 'WARREN_MQTT_VHOST', conf: ['mqtt.vhost'], type: 'string', default: () => '/', doc: 'vhost of MQTT logins without the vhost:user form' },
  { key: 'mqttExchange', env: 'WARREN_MQTT_EXCHANGE', conf: ['mqtt.exchange'], type: 'string', default: () => 'amq.topic', doc: 'topic exchange for every MQTT publish and subscription' },
  { key: 'mqttPrefetch', env: 'WARREN_MQTT_PREFETCH', conf: ['mqtt.prefetch'], type: 'int', default: () => 10, doc: 'most unacked QoS 1 deliveries per MQTT connection' },
  { key: 'mqttMaxSessionExpirySeconds', env: 'WARREN_MQTT_MAX_SESSION_EXPIRY', conf: ['mqtt.max_session_expiry_interval_seconds'], type: 'int', default: () => 86400, doc: 'longest MQTT session expiry, seconds' },
  { key: 'stompPort', env: 'WARREN_STOMP_PORT', conf: ['stomp.listeners.tcp.*'], fromConf: listenerPort, type: 'int', default: () => 61613, doc: 'STOMP listener port on NODE_IP (0 = off)' },
  { key: 'stompDefaultVhost', env: 'WARREN_STOMP_DEFAULT_VHOST', conf: ['stomp.default_vhost'], type: 'string', default: () => '/', doc: 'vhost of STOMP logins without a host header' },
  { key: 'webStompPort', env: 'WARREN_WEB_STOMP_PORT', conf: ['web_stomp.tcp.port'], type: 'int', default: () => 15674, doc: 'Web-STOMP (STOMP over WebSocket at /ws) port (0 = off)' },
  { key: 'webMqttPort', env: 'WARREN_WEB_MQTT_PORT', conf: ['web_mqtt.tcp.port'], type: 'int', default: () => 15675, doc: 'Web-MQTT (MQTT over WebSocket at /ws) port (0 = off)' },
  { key: 'quorumTickMs', env: 'WARREN_QUORUM_TICK_MS', type: 'int', default: () => 50, doc: 'Raft tick of quorum queues; a lost leader is replaced after 10 to 20 ticks (at once when its node is seen going down)' },
  { key: 'quorumSnapshotEntries', env: 'WARREN_QUORUM_SNAPSHOT_ENTRIES', type: 'int', default: () => 4096, doc: 'a quorum queue member snapshots its state (and its log prefix is deleted) after this many entries' },
  { key: 'quorumMemoryBytes', env: 'WARREN_QUORUM_MEMORY_BYTES', type: 'int', default: () => 8 * 1024 * 1024, doc: 'message body bytes a quorum queue member holds in memory; later bodies are kept only on its disk (read back when delivered)' },
  { key: 'quorumSnapshotBytes', env: 'WARREN_QUORUM_SNAPSHOT_BYTES', type: 'int', default: () => 32 * 1024 * 1024, doc: 'a quorum queue member also snapshots after this many body bytes were enqueued, so its log (held in memory) stays small' },
  { key: 'quorumReattachHoldMs', env: 'WARREN_QUORUM_REATTACH_HOLD_MS', type: 'int', default: () => 5000, doc: 'how long a new quorum queue leader keeps the unacked messages a consumer held under an earlier leader (its node up) for that consumer to re-attach, ms; then they go back to the queue, redelivered' },
  { key: 'quorumCmrEnabled', env: 'WARREN_QUORUM_CMR_ENABLED', conf: ['quorum_queue.continuous_membership_reconciliation.enabled'], type: 'bool', default: () => true, doc: 'continuous membership reconciliation: leaders grow quorum queues below their target group size (x-quorum-target-group-size, policy target-group-size, or the next option), one member per round; queues without a target are left alone (RabbitMQ defaults to false)' },
  { key: 'quorumCmrAutoRemove', env: 'WARREN_QUORUM_CMR_AUTO_REMOVE', conf: ['quorum_queue.continuous_membership_reconciliation.auto_remove'], type: 'bool', default: () => false, doc: "membership reconciliation also removes a quorum queue's members on nodes that are no longer cluster members (as RabbitMQ's auto_remove, off by default)" },
  { key: 'quorumTargetGroupSize', env: 'WARREN_QUORUM_TARGET_GROUP_SIZE', conf: ['quorum_queue.continuous_membership_reconciliation.target_group_size'], type: 'int', default: () => 0, doc: 'target group size of every quorum queue for membership reconciliation (a queue argument or policy asking for more wins); 0 = none' },
  { key: 'quorumCmrIntervalMs', env: 'WARREN_QUORUM_CMR_INTERVAL_MS', conf: ['quorum_queue.continuous_membership_reconciliation.interval'], type: 'int', default: () => 3_600_000, doc: 'membership reconciliation runs this often (ms) when nothing triggers it' },
  { key: 'quorumCmrTriggerIntervalMs', env: 'WARREN_QUORUM_CMR_TRIGGER_INTERVAL_MS', conf: ['quorum_queue.continuous_membership_reconciliation.trigger_interval'], type: 'int', default: () => 10_000, doc: 'membership reconciliation runs this long (ms) after a node comes up or goes down, a queue gets a leader or a policy changes, and after a round that added members' },
  { key: 'metadataTimeoutMs', env: 'WARREN_METADATA_TIMEOUT_MS', type: 'int', default: () => 5000, doc: 'a metadata change without a Raft quorum fails after this long' },
  { key: 'maxConnections', env: 'WARREN_MAX_CONNECTIONS', conf: ['max_connections', 'connection_max'], type: 'string', default: () => 'infinity', doc: "open AMQP connections past which connection.open is refused (530, RabbitMQ's node connection limit): a number or infinity" },
  { key: 'socketLimit', env: 'WARREN_SOCKET_LIMIT', type: 'string', default: () => 'auto', doc: 'open AMQP sockets beyond which new ones are closed as soon as accepted: auto (the file descriptor limit less a 10 % reserve), infinity, or a number' },
  { key: 'sslPort', env: 'WARREN_SSL_PORT', conf: ['listeners.ssl.*'], fromConf: listenerPort, type: 'int', default: () => 0, doc: 'AMQPS (TLS) listener port, conventionally 5671; 0 = no TLS listener' },
  { key: 'sslCertFile', env: 'WARREN_SSL_CERTFILE', conf: ['ssl_options.certfile'], type: 'string', default: () => '', doc: "PEM file with the server's certificate (chain)" },
  { key: 'sslKeyFile', env: 'WARREN_SSL_KEYFILE', conf: ['ssl_options.keyfile'], type: 'string', default: () => '', doc: "PEM file with the server's private key" },
  { key: 'sslCaCertFile', env: 'WARREN_SSL_CACERTFILE', conf: ['ssl_options.cacertfile'], type: 'string', default: () => '', doc: 'PEM file with the CA certificates client certificates are verified against' },
  { key: 'sslVerify', env: 'WARREN_SSL_VERIFY', conf: ['ssl_options.verify'], type: 'string', oneOf: ['verify_none', 'verify_peer'], default: () => 'verify_none', doc: 'verify_peer: ask for and verify a client certificate' },
  { key: 'sslFailIfNoPeerCert', env: 'WARREN_SSL_FAIL_IF_NO_PEER_CERT', conf: ['ssl_options.fail_if_no_peer_cert'], type: 'bool', default: () => false, doc: 'with verify_peer: refuse clients without a certificate' },
  { key: 'sslVersions', env: 'WARREN_SSL_VERSIONS', conf: ['ssl_options.versions.*'], type: 'string', default: () => 'tlsv1.3,tlsv1.2', doc: 'TLS versions accepted, comma-separated (tlsv1.3, tlsv1.2, tlsv1.1, tlsv1)' },
  { key: 'sslCiphers', env: 'WARREN_SSL_CIPHERS', conf: ['ssl_options.ciphers.*'], type: 'string', default: () => '', doc: "cipher suites (OpenSSL names), comma-separated; empty = Node's defaults" },
  { key: 'sslCertLoginFrom', env: 'WARREN_SSL_CERT_LOGIN_FROM', conf: ['ssl_cert_login_from'], type: 'string', oneOf: ['distinguished_name', 'common_name', 'subject_alternative_name', 'subject_alt_name'], default: () => 'distinguished_name', doc: 'EXTERNAL login: the user name is the certificate subject DN, its CN, or a SAN' },
  { key: 'sslCertLoginSanType', env: 'WARREN_SSL_CERT_LOGIN_SAN_TYPE', conf: ['ssl_cert_login_san_type'], type: 'string', oneOf: ['dns', 'ip', 'email', 'uri', 'other_name'], default: () => 'dns', doc: 'with subject_alternative_name: which SAN type' },
  { key: 'sslCertLoginSanIndex', env: 'WARREN_SSL_CERT_LOGIN_SAN_INDEX', conf: ['ssl_cert_login_san_index'], type: 'int', default: () => 0, doc: 'with subject_alternative_name: which SAN of that type (0 = first)' },
  { key: 'authMechanisms', env: 'WARREN_AUTH_MECHANISMS', conf: ['auth_mechanisms.*'], type: 'string', default: () => 'PLAIN,AMQPLAIN', doc: 'SASL mechanisms offered: PLAIN, AMQPLAIN, EXTERNAL (TLS client certificates; offered on TLS connections only)' },
  { key: 'loopbackUsers', env: 'WARREN_LOOPBACK_USERS', conf: ['loopback_users', 'loopback_users.*'], fromConf: loopbackUsers, type: 'string', default: () => 'guest', doc: "users that may connect from localhost only, comma-separated; 'none' or empty for nobody" },
  { key: 'queueMemoryMessages', env: 'WARREN_QUEUE_MEMORY_MESSAGES', type: 'int', default: () => 100_000, doc: 'ready messages a queue keeps in memory before paging persistent ones out' },
  { key: 'queueMemoryBytes', env: 'WARREN_QUEUE_MEMORY_BYTES', type: 'int', default: () => 32 * 1024 * 1024, doc: 'body bytes of ready messages a queue keeps in memory before paging' },
  { key: 'queuePageBatch', env: 'WARREN_QUEUE_PAGE_BATCH', type: 'int', default: () => 256, doc: 'messages read back from the store at a time when a paged queue drains' },
  { key: 'storeCacheBytes', env: 'WARREN_STORE_CACHE_BYTES', type: 'int', default: () => 16 * 1024 * 1024, doc: "message store read cache, bytes per vhost" },
  { key: 'storeStatsMs', env: 'WARREN_STORE_STATS_MS', type: 'int', default: () => 0, doc: 'log the message store counters this often (ms, at least 100); 0 = off' },
  { key: 'gcHeadroomMb', env: 'WARREN_GC_HEADROOM_MB', type: 'int', default: () => 64, doc: "room the JavaScript heap may grow (and Buffers churn) above its live size before a full garbage collection, MB; V8 alone leaves a small heap 8-12 MB and then collects 10-15 times a second under load; 0 = V8's own sizing" },
];

/** The rabbitmq.conf entries that set `opt`, in file order. */
function confEntries(opt: Option, entries: ConfEntry[]): ConfEntry[] {
  return entries.filter((e) => opt.conf!.some((k) => (k.endsWith('.*') ? e.key.startsWith(k.slice(0, -1)) : e.key === k)));
}

/** The option's value from the file, or undefined when the file does not set it. */
function fromFile(opt: Option, entries: ConfEntry[]): string | undefined {
  if (!opt.conf) return undefined;
  const matched = confEntries(opt, entries);
  if (matched.length === 0) return undefined;
  if (opt.fromConf) return opt.fromConf(matched);
  if (opt.conf.length === 1 && opt.conf[0].endsWith('.*')) {
    return [...matched].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((e) => e.value).join(',');
  }
  return matched[matched.length - 1].value;
}

/** Reads WARREN_CONFIG_FILE (when set): its entries, every key checked against the table. */
function readConfigFile(env: NodeJS.ProcessEnv): ConfEntry[] {
  const path = env.WARREN_CONFIG_FILE;
  if (path === undefined || path === '') return [];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfFileError(`WARREN_CONFIG_FILE: cannot read ${path}: ${(err as Error).message}`);
  }
  const entries = parseConfFile(text, env, path);
  for (const e of entries) {
    if (!OPTIONS.some((opt) => opt.conf && confEntries(opt, [e]).length > 0)) {
      throw new ConfFileError(`${path}:${e.line}: unknown or unsupported key '${e.key}' (see the README for the keys Warren reads)`);
    }
  }
  return entries;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const entries = readConfigFile(env);
  const config: Partial<Config> = {};
  for (const opt of OPTIONS) {
    const fromEnv = env[opt.env];
    const raw = fromEnv !== undefined && fromEnv !== '' ? fromEnv : fromFile(opt, entries);
    const where = fromEnv !== undefined && fromEnv !== '' ? opt.env : `${opt.conf?.join(' / ')} in ${env.WARREN_CONFIG_FILE}`;
    let value: string | number | boolean = raw === undefined ? opt.default(config) : raw;
    if (opt.type === 'int') {
      value = Number(value);
      if (!Number.isInteger(value) || value < 0) throw new Error(`${where} must be a non-negative integer, got '${raw}'`);
    } else if (opt.type === 'bool') {
      if (value !== true && value !== false && value !== 'true' && value !== 'false') throw new Error(`${where} must be true or false, got '${raw}'`);
      value = value === true || value === 'true';
    } else if (opt.oneOf && !opt.oneOf.includes(String(value))) {
      throw new Error(`${where} must be one of ${opt.oneOf.join(', ')}, got '${raw}'`);
    }
    (config as Record<string, unknown>)[opt.key] = value;
  }
  config.logLevel = LOG_LEVEL_ALIASES[config.logLevel!] ?? config.logLevel;
  for (const v of (config.sslVersions as string).split(',')) {
    if (v !== '' && !TLS_VERSIONS.includes(v.trim().toLowerCase())) throw new Error(`TLS version '${v}' is not one of ${TLS_VERSIONS.join(', ')}`);
  }
  return config as Config;
}
