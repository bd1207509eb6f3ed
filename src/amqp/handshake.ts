import { FRAME_MIN_SIZE, MethodKey, type AmqpMethod } from '../protocol/methods.generated';
import { AccessRefused, CommandInvalid, NotAllowed, SyntaxErrorReply } from '../broker/errors';
import { authenticate, authenticateExternal, canAccessVhost, DEFAULT_AUTH, type AuthResult, type AuthSettings } from '../auth/authenticator';
import { MECHANISMS, offeredMechanisms, parseSaslResponse } from '../auth/sasl';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import type { Broker } from '../broker/broker';
import type { VirtualHost } from '../broker/vhost';
import type { Logger } from '../log/logger';
import type { FieldTable } from '../protocol/field-table';
import type { FrameOutput } from './writer';
import { serverProperties } from './server-properties';
import { checkConnectionLimits, type LimitedConnection } from './limits';

/** RabbitMQ 4.1+ refuses a frame_max below FRAME-MIN-SIZE (8192); amqplib and pika default to 131072. */
const SMALLEST_FRAME_MAX = FRAME_MIN_SIZE;

/** What the handshake reads and sets on its connection (Connection implements it). */
export interface HandshakeConnection extends LimitedConnection {
  readonly out: FrameOutput;
  readonly broker: Broker;
  readonly socket: Socket;
  readonly log: Logger;
  readonly ctx: {
    readonly clusterName: string;
    readonly limits: { channelMax: number; frameMaxBytes: number; heartbeatSeconds: number; maxConnections?: number };
    readonly auth?: AuthSettings;
    readonly peers?: Iterable<LimitedConnection>;
  };
  capabilities: { consumerCancelNotify: boolean; connectionBlocked: boolean; authenticationFailureClose: boolean };
  clientProperties: FieldTable;
  user: string;
  channelMax: number;
  opened(vhost: VirtualHost, frameMaxBytes: number, heartbeatSeconds: number): void;
  /** The close about to be sent names no method (RabbitMQ's login refusal does not). */
  forgetCause(): void;
}

/** The cluster name set with PUT /api/cluster-name (a global parameter), else the node's. */
function clusterNameOf(conn: HandshakeConnection): string {
  const set = conn.broker.globalParameters.get('cluster_name');
  return typeof set === 'string' && set !== '' ? set : conn.ctx.clusterName;
}

/**
 * The connection handshake after the protocol header: start / start-ok (SASL PLAIN or
 * AMQPLAIN), tune / tune-ok, open / open-ok.
 */
export class Handshake {
  private step: 'start-ok' | 'tune-ok' | 'open' = 'start-ok';
  private frameMaxBytes = 0;
  private heartbeatSeconds = 0;

  constructor(private readonly conn: HandshakeConnection) {}

  start(): void {
    this.conn.out.method(0, {
      key: MethodKey.ConnectionStart,
      args: {
        versionMajor: 0,
        versionMinor: 9,
        serverProperties: serverProperties(clusterNameOf(this.conn)),
        mechanisms: Buffer.from(this.mechanisms().join(' ')),
        locales: Buffer.from('en_US'),
      },
    });
  }

  private mechanisms(): string[] {
    return offeredMechanisms((this.conn.ctx.auth ?? DEFAULT_AUTH).mechanisms, isTls(this.conn.socket));
  }

  onMethod(m: AmqpMethod): void {
    if (m.key === MethodKey.ConnectionStartOk && this.step === 'start-ok') return this.onStartOk(m.args);
    if (m.key === MethodKey.ConnectionTuneOk && this.step === 'tune-ok') return this.onTuneOk(m.args);
    if (m.key === MethodKey.ConnectionOpen && this.step === 'open') return this.onOpen(m.args.virtualHost);
    throw new CommandInvalid(`unexpected method in connection state ${this.step}`);
  }

  private onStartOk(a: { clientProperties: import('../protocol/field-table').FieldTable; mechanism: string; response: Buffer }): void {
    const conn = this.conn;
    conn.clientProperties = a.clientProperties;
    const caps = a.clientProperties.capabilities;
    if (caps && typeof caps === 'object' && !Array.isArray(caps) && !Buffer.isBuffer(caps)) {
      const table = caps as Record<string, unknown>;
      conn.capabilities.consumerCancelNotify = table.consumer_cancel_notify === true;
      conn.capabilities.connectionBlocked = table['connection.blocked'] === true;
      conn.capabilities.authenticationFailureClose = table.authentication_failure_close === true;
    }
    if (!(MECHANISMS as readonly string[]).includes(a.mechanism)) {
      throw new CommandInvalid(`unknown authentication mechanism '${a.mechanism}'`);
    }
    if (!this.mechanisms().includes(a.mechanism)) throw new CommandInvalid(`invalid authentication mechanism '${a.mechanism}'`);
    const auth = conn.ctx.auth ?? DEFAULT_AUTH;
    let result: AuthResult;
    if (a.mechanism === 'EXTERNAL') {
      // The SASL response is ignored: the certificate names the user.
      const socket = conn.socket as TLSSocket;
      const der = socket.authorized ? socket.getPeerCertificate()?.raw : undefined;
      result = authenticateExternal(conn.broker, der, conn.socket.remoteAddress, auth);
    } else {
      const credentials = parseSaslResponse(a.mechanism, a.response);
      if (!credentials) throw new SyntaxErrorReply(`malformed ${a.mechanism} response`);
      result = authenticate(conn.broker, a.mechanism, credentials.username, credentials.password, conn.socket.remoteAddress, auth);
    }
    if (!result.ok) {
      conn.log.warn({ mechanism: a.mechanism, reason: result.detail }, 'authentication failed');
      if (conn.capabilities.authenticationFailureClose) {
        conn.forgetCause(); // RabbitMQ names no method in a login refusal (class 0, method 0)
        throw new AccessRefused(result.wire);
      }
      conn.socket.destroy();
      return;
    }
    conn.user = result.user;
    const limits = conn.ctx.limits;
    conn.out.method(0, {
      key: MethodKey.ConnectionTune,
      args: { channelMax: limits.channelMax, frameMax: limits.frameMaxBytes, heartbeat: limits.heartbeatSeconds },
    });
    this.step = 'tune-ok';
  }

  private onTuneOk(a: { channelMax: number; frameMax: number; heartbeat: number }): void {
    const limits = this.conn.ctx.limits;
    const frameMax = a.frameMax === 0 ? limits.frameMaxBytes : a.frameMax;
    if (frameMax < SMALLEST_FRAME_MAX) throw new NotAllowed(`frame_max=${a.frameMax} < ${SMALLEST_FRAME_MAX} min_size`);
    if (frameMax > limits.frameMaxBytes) throw new NotAllowed(`frame_max=${a.frameMax} > ${limits.frameMaxBytes} max_size`);
    const channelMax = a.channelMax === 0 ? limits.channelMax : a.channelMax;
    if (channelMax > limits.channelMax) throw new NotAllowed(`channel_max=${a.channelMax} > ${limits.channelMax} max`);
    this.conn.channelMax = channelMax;
    this.frameMaxBytes = frameMax;
    this.heartbeatSeconds = a.heartbeat;
    this.step = 'open';
  }

  private onOpen(vhostName: string): void {
    const conn = this.conn;
    checkConnectionLimits(conn, vhostName);
    const vhost = conn.broker.vhost(vhostName);
    if (!vhost || !canAccessVhost(conn.broker, conn.user, vhostName)) {
      throw new NotAllowed(`access to vhost '${vhostName}' refused for user '${conn.user}'`);
    }
    conn.out.method(0, { key: MethodKey.ConnectionOpenOk, args: { knownHosts: '' } });
    conn.opened(vhost, this.frameMaxBytes, this.heartbeatSeconds);
  }
}

function isTls(socket: unknown): boolean {
  return (socket as { encrypted?: boolean }).encrypted === true;
}
