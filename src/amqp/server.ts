import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { AuthSettings } from '../auth/authenticator';
import type { Broker } from '../broker/broker';
import type { MetadataStore } from '../broker/ports';
import type { Logger } from '../log/logger';
import { Connection, type ConnectionLimits } from './connection';
import { setReplyNode } from './direct-reply-to';
import type { ResourceAlarms } from '../broker/alarms';
import { DEFAULT_CONSUMER_TIMEOUT_MS, sweepChannel, sweepIntervalMs } from './consumer-timeout';

export interface AmqpServerOptions {
  host: string;
  port: number;
  limits: ConnectionLimits;
  clusterName: string;
  alarms?: ResourceAlarms;
  /** Sockets accepted beyond this many open connections are closed at once (the descriptor-based limit). */
  maxSockets?: number;
  /** Mechanisms, loopback users, certificate logins. */
  auth?: AuthSettings;
  /** The AMQPS listener (same host), when configured. */
  tls?: { port: number; options: TlsOptions; handshakeTimeoutMs: number };
  /** RabbitMQ's consumer_timeout: a delivery unacknowledged this long closes its channel; 0 = off (a queue's own timeout still applies). */
  consumerTimeoutMs?: number;
}

/** Accept errors are logged at most this often (a descriptor shortage repeats them per connection attempt). */
const ACCEPT_ERROR_LOG_INTERVAL_MS = 5000;

/** The AMQP 0-9-1 listener: one Connection per accepted socket. */
export class AmqpServer {
  readonly connections = new Set<Connection>();
  /** Accepts that failed (EMFILE, ENFILE, ...) and sockets dropped over maxSockets, for status. */
  acceptErrors = 0;
  droppedSockets = 0;
  private readonly servers: Server[] = [];
  private lastAcceptErrorLogMs = 0;
  private timeoutSweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly metadata: MetadataStore,
    private readonly options: AmqpServerOptions,
    private readonly log: Logger,
  ) {
    setReplyNode(options.clusterName);
  }

  async listen(): Promise<void> {
    const log = this.log.child({ module: 'amqp' });
    this.options.alarms?.on('change', (active: Set<string>) => {
      log.warn({ alarms: [...active] }, active.size > 0 ? 'resource alarm set: blocking publishers' : 'resource alarms cleared');
      for (const c of this.connections) {
        if (active.size > 0 && c.hasPublished) c.block();
        else if (active.size === 0) c.unblock();
      }
    });
    const accept = (socket: Socket) => {
      const connection = new Connection(socket, {
        broker: this.broker,
        metadata: this.metadata,
        limits: this.options.limits,
        clusterName: this.options.clusterName,
        log,
        onClosed: (c) => {
          if (this.connections.delete(c)) this.broker.churn.connectionClosed++;
        },
        alarms: this.options.alarms,
        peers: this.connections,
        auth: this.options.auth,
        consumerTimeoutMs: this.options.consumerTimeoutMs ?? DEFAULT_CONSUMER_TIMEOUT_MS,
      });
      this.connections.add(connection);
      this.broker.churn.connectionCreated++;
    };
    const listening = [this.startListener(createServer(accept), this.options.port, log)];
    const tls = this.options.tls;
    if (tls) {
      const server = createTlsServer({ ...tls.options, handshakeTimeout: tls.handshakeTimeoutMs }, (socket) => {
        // verify_peer without fail_if_no_peer_cert: no certificate is fine, a bad one is not.
        if (tls.options.requestCert && !socket.authorized && socket.getPeerCertificate()?.raw) {
          log.debug({ reason: socket.authorizationError }, 'client certificate refused');
          socket.destroy();
          return;
        }
        accept(socket);
      });
      // A failed TLS handshake (bad certificate, wrong version) ends that socket only.
      server.on('tlsClientError', (err) => log.debug({ err }, 'TLS handshake failed'));
      listening.push(this.startListener(server, tls.port, log));
    }
    await Promise.all(listening);
    this.startTimeoutSweep(log);
  }

  /** Deals with deliveries unacknowledged past their consumer timeout: consumer cancelled or channel closed (consumer-timeout.ts). */
  private startTimeoutSweep(log: Logger): void {
    const defaultMs = this.options.consumerTimeoutMs ?? DEFAULT_CONSUMER_TIMEOUT_MS;
    this.timeoutSweep = setInterval(() => {
      const now = Date.now();
      for (const c of this.connections) {
        if (c.state !== 'open') continue;
        for (const ch of c.channels.values()) {
          const r = sweepChannel(ch, c.vhost, defaultMs, now);
          if (r?.closed) log.warn({ connection: c.id, channel: ch.id, timeoutMs: r.timeoutMs }, 'consumer timed out waiting for delivery acknowledgement: channel closed');
          else if (r && r.cancelled.length > 0) log.warn({ connection: c.id, channel: ch.id, timeoutMs: r.timeoutMs, consumers: r.cancelled, returned: r.returned }, 'consumer timed out waiting for delivery acknowledgement: consumer cancelled, its timed-out deliveries returned');
        }
      }
    }, sweepIntervalMs(defaultMs || DEFAULT_CONSUMER_TIMEOUT_MS));
    this.timeoutSweep.unref();
  }

  private startListener(server: Server, port: number, log: Logger): Promise<void> {
    this.servers.push(server);
    if (this.options.maxSockets !== undefined && Number.isFinite(this.options.maxSockets)) server.maxConnections = this.options.maxSockets;
    server.on('drop', () => this.droppedSockets++);
    const host = this.options.host;
    return this.listenOn(server, port, host, log).catch((err: NodeJS.ErrnoException) => {
      // '::' binds IPv6 and IPv4 together (dual-stack), as RabbitMQ's listeners do; a host
      // without IPv6 gets the IPv4 wildcard instead.
      if (host !== '::' || (err.code !== 'EAFNOSUPPORT' && err.code !== 'EADDRNOTAVAIL')) throw err;
      log.warn({ code: err.code, port }, 'IPv6 unavailable: listening on 0.0.0.0 only');
      return this.listenOn(server, port, '0.0.0.0', log);
    });
  }

  /** The address the first listener is bound to, once listening. */
  address(): { host: string; port: number } | undefined {
    const a = this.servers[0]?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  private listenOn(server: Server, port: number, host: string, log: Logger): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, ipv6Only: false }, () => {
        server.off('error', reject);
        // After listening, an error is a failed accept (EMFILE/ENFILE when descriptors run out):
        // libuv drops the pending connection and keeps accepting once descriptors are free again.
        server.on('error', (err) => this.onAcceptError(err, log));
        resolve();
      });
    });
  }

  /** The descriptor-based connection limit in force (Infinity when none). */
  get maxSockets(): number {
    return this.options.maxSockets ?? Infinity;
  }

  private onAcceptError(err: Error, log: Logger): void {
    this.acceptErrors++;
    const now = Date.now();
    if (now - this.lastAcceptErrorLogMs < ACCEPT_ERROR_LOG_INTERVAL_MS) return;
    this.lastAcceptErrorLogMs = now;
    log.warn({ err, acceptErrors: this.acceptErrors, connections: this.connections.size }, 'accepting a connection failed; new connections are refused until descriptors are free');
  }

  /** Stops accepting and closes every connection with 320 CONNECTION_FORCED. */
  async close(): Promise<void> {
    clearInterval(this.timeoutSweep);
    for (const c of this.connections) c.forceClose('broker shutdown');
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}
