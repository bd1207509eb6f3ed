/** Mesh configuration: the options, their defaults and their checks. */
import { logger as rootLogger, type Logger } from '../../src/log/logger';
import type { MeshTlsOptions } from './grpc-service';
import type { BackoffOptions, PeerAddress } from './peer';

/** Default inter-node port: AMQP port 5672 + 20000, as RabbitMQ. */
export const DEFAULT_MESH_PORT = 25672;

/** The inter-node port that goes with an AMQP port. */
export function meshPortFor(amqpPort: number): number {
  return amqpPort + 20000;
}

/** Finds where a node listens; supplied by cluster/discovery (the port mapper). */
export type PeerResolver = (nodeName: string) => Promise<PeerAddress>;

export interface MeshOptions {
  /** This node's name, e.g. `warren@host1`; unique in the cluster. */
  nodeName: string;
  /** The shared cluster secret (see cluster-secret.ts). Never sent; only proven. */
  secret: string | Buffer;
  /** Inter-node port to listen on; default 25672; 0 picks a free port (see `Mesh.port`). */
  port?: number;
  /** Address to listen on; default '0.0.0.0'. */
  host?: string;
  /** Host peers should dial us back on; default '' = the address they see us connect from. */
  advertiseHost?: string;
  /** A peer silent this long is marked down (net_ticktime's role); heartbeats go every tickMs/4. Default 4000. */
  tickMs?: number;
  /** Longest a handshake may take; default tickMs. */
  handshakeTimeoutMs?: number;
  /** Node name → address, asked on every dial of a peer connected without an address. */
  resolver?: PeerResolver;
  /** Mutual TLS; insecure when absent. */
  tls?: MeshTlsOptions;
  /** Redial delays; default 100 ms doubling to 2000 ms. */
  backoff?: Partial<BackoffOptions>;
  /** Largest payload accepted by send/request; default 32 MiB. */
  maxMessageBytes?: number;
  /** Most bytes queued for one peer; sends beyond it are dropped. Default 64 MiB. */
  maxQueueBytes?: number;
  /** send() returns false once this many bytes are queued for the peer; default 4 MiB. */
  highWaterBytes?: number;
  /** Target size of one stream write; default 256 KiB. */
  maxBatchBytes?: number;
  /** Parent logger; default the root logger. */
  logger?: Logger;
}

export interface ResolvedMeshOptions {
  nodeName: string;
  secret: Buffer;
  port: number;
  host: string;
  advertiseHost: string;
  tickMs: number;
  handshakeTimeoutMs: number;
  resolver: PeerResolver | undefined;
  tls: MeshTlsOptions | undefined;
  backoff: BackoffOptions;
  maxMessageBytes: number;
  maxQueueBytes: number;
  highWaterBytes: number;
  maxBatchBytes: number;
  logger: Logger;
}

/** Fills in defaults; throws on a missing name, an empty secret or a non-positive limit. */
export function resolveMeshOptions(o: MeshOptions): ResolvedMeshOptions {
  if (!o.nodeName) throw new Error('mesh: nodeName is required');
  const secret = Buffer.isBuffer(o.secret) ? o.secret : Buffer.from(o.secret ?? '', 'utf8');
  if (secret.length === 0) throw new Error('mesh: the cluster secret is empty');
  const tickMs = o.tickMs ?? 4000;
  const resolved: ResolvedMeshOptions = {
    nodeName: o.nodeName,
    secret,
    port: o.port ?? DEFAULT_MESH_PORT,
    host: o.host ?? '0.0.0.0',
    advertiseHost: o.advertiseHost ?? '',
    tickMs,
    handshakeTimeoutMs: o.handshakeTimeoutMs ?? tickMs,
    resolver: o.resolver,
    tls: o.tls,
    backoff: { initialMs: o.backoff?.initialMs ?? 100, maxMs: o.backoff?.maxMs ?? 2000 },
    maxMessageBytes: o.maxMessageBytes ?? 32 * 1024 * 1024,
    maxQueueBytes: o.maxQueueBytes ?? 64 * 1024 * 1024,
    highWaterBytes: o.highWaterBytes ?? 4 * 1024 * 1024,
    maxBatchBytes: o.maxBatchBytes ?? 256 * 1024,
    logger: o.logger ?? rootLogger,
  };
  for (const key of ['tickMs', 'handshakeTimeoutMs', 'maxMessageBytes', 'maxQueueBytes', 'highWaterBytes', 'maxBatchBytes'] as const) {
    if (!(resolved[key] > 0)) throw new Error(`mesh: ${key} must be positive`);
  }
  if (resolved.port < 0 || resolved.port > 65535) throw new Error('mesh: port out of range');
  return resolved;
}
