import { randomBytes } from 'node:crypto';
import type { IConnectPacket } from 'mqtt-packet';
import { authenticate, canAccessVhost } from '../auth/authenticator';
import type { MqttContext } from './context';

/** CONNACK codes per cause: [MQTT 5 reason code, MQTT 3.1/3.1.1 return code]. */
export const CONNACK = {
  badCredentials: [0x86, 4],
  notAuthorized: [0x87, 5],
  badClientId: [0x85, 2],
  badAuthMethod: [0x8c, 4],
  qosNotSupported: [0x9b, 3],
  unavailable: [0x88, 3],
} as const;

export type ConnackCause = keyof typeof CONNACK;

/** Who a CONNECT logged in as, or why it may not. */
export type Login =
  | { ok: true; user: string; vhost: string; clientId: string; clientIdAssigned: boolean; expirySeconds: number }
  | { ok: false; cause: ConnackCause };

/**
 * Checks a CONNECT as RabbitMQ's MQTT plugin does: credentials (or the anonymous login),
 * the vhost (`vhost:user` split at the last colon, else the default), the client ID and the
 * session expiry.
 */
export function login(ctx: MqttContext, packet: IConnectPacket, remoteAddress: string | undefined): Login {
  const version = packet.protocolVersion ?? 4;
  if (version === 5 && packet.properties?.authenticationMethod !== undefined) return { ok: false, cause: 'badAuthMethod' };
  if (packet.will && packet.will.qos === 2 && version === 5) return { ok: false, cause: 'qosNotSupported' };
  const hasUser = packet.username !== undefined && packet.username !== '';
  const hasPass = packet.password !== undefined && packet.password.length > 0;
  if (hasUser !== hasPass) return { ok: false, cause: 'badCredentials' };
  let username = hasUser ? packet.username! : ctx.options.anonymousUser;
  const password = hasPass ? packet.password!.toString('utf8') : ctx.options.anonymousPass;
  let vhost = ctx.options.vhost;
  const colon = username.lastIndexOf(':');
  if (colon >= 0) {
    vhost = username.slice(0, colon);
    username = username.slice(colon + 1);
  }
  if (!ctx.broker.vhost(vhost)) return { ok: false, cause: 'badCredentials' };
  const auth = authenticate(ctx.broker, 'PLAIN', username, password, remoteAddress, ctx.auth);
  if (!auth.ok) return { ok: false, cause: auth.detail.includes('localhost') ? 'notAuthorized' : 'badCredentials' };
  if (!canAccessVhost(ctx.broker, username, vhost)) return { ok: false, cause: 'notAuthorized' };
  const clean = packet.clean !== false;
  let clientId = packet.clientId ?? '';
  let clientIdAssigned = false;
  if (clientId === '') {
    if (version !== 5 && !clean) return { ok: false, cause: 'badClientId' };
    clientId = randomBytes(16).toString('base64url');
    clientIdAssigned = true;
  }
  return { ok: true, user: username, vhost, clientId, clientIdAssigned, expirySeconds: sessionExpiry(ctx, version, clean, packet.properties?.sessionExpiryInterval) };
}

/** MQTT 5: the CONNECT property (absent = 0, capped by the server); 3.1.1: 0 when clean, else the server max. */
function sessionExpiry(ctx: MqttContext, version: number, clean: boolean, requested: number | undefined): number {
  const max = ctx.options.maxSessionExpirySeconds;
  if (version !== 5) return clean ? 0 : max;
  if (requested === undefined) return 0;
  return Math.min(requested, max);
}
