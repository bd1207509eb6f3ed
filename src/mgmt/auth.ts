/**
 * HTTP basic authentication against the broker's users, and the user tags that decide what a
 * user may see and do: management (objects of the vhosts it has permissions in), policymaker
 * (+ policies), monitoring (+ read everything), administrator (everything). Users listed as
 * loopback-only (guest) are accepted only from a loopback address, as for AMQP.
 */
import type { FastifyRequest } from 'fastify';
import { authenticate, type AuthSettings } from '../auth/authenticator';
import type { Broker } from '../broker/broker';
import { ApiError } from './http-errors';

export interface ApiUser {
  name: string;
  tags: string[];
}

const MANAGEMENT_TAGS = ['management', 'policymaker', 'monitoring', 'administrator'];

declare module 'fastify' {
  interface FastifyRequest {
    apiUser: ApiUser;
  }
}

/** Checks the Authorization header; throws 401 (with the Basic challenge) when it does not pass. */
export function authenticateRequest(broker: Broker, auth: AuthSettings, req: FastifyRequest): ApiUser {
  const header = req.headers.authorization;
  if (!header || !header.startsWith('Basic ')) throw new ApiError(401, 'not_authorised', 'Login failed');
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new ApiError(401, 'not_authorised', 'Login failed');
  const result = authenticate(broker, 'PLAIN', decoded.slice(0, colon), decoded.slice(colon + 1), req.socket.remoteAddress, auth);
  if (!result.ok) throw new ApiError(401, 'not_authorised', result.detail.includes('can only connect via localhost') ? `user '${decoded.slice(0, colon)}' can only connect via localhost` : 'Login failed');
  if (!result.tags.some((t) => MANAGEMENT_TAGS.includes(t))) throw new ApiError(401, 'not_authorised', 'Not management user');
  return { name: result.user, tags: result.tags };
}

export const isAdministrator = (u: ApiUser) => u.tags.includes('administrator');
export const isMonitor = (u: ApiUser) => isAdministrator(u) || u.tags.includes('monitoring');
export const isPolicymaker = (u: ApiUser) => isAdministrator(u) || u.tags.includes('policymaker');

export function requireAdministrator(u: ApiUser): void {
  if (!isAdministrator(u)) throw new ApiError(401, 'not_authorised', 'Not administrator user');
}

/** Runtime parameters (and policies): policymakers and administrators change them; monitoring users read them too. */
export function requirePolicymaker(u: ApiUser, readOnly = false): void {
  if (!isPolicymaker(u) && !(readOnly && isMonitor(u))) throw new ApiError(401, 'not_authorised', 'Not policymaker user');
}

export function requireMonitor(u: ApiUser): void {
  if (!isMonitor(u)) throw new ApiError(401, 'not_authorised', 'Not monitor user');
}

/** Whether the user may see the objects of `vhost` (monitoring and administrators see all). */
export function canSeeVhost(broker: Broker, u: ApiUser, vhost: string): boolean {
  return isMonitor(u) || broker.permission(u.name, vhost) !== undefined;
}

/** Throws 401 unless the user has any permission in `vhost` (needed to change its objects). */
export function requireVhostAccess(broker: Broker, u: ApiUser, vhost: string): void {
  if (broker.permission(u.name, vhost) === undefined && !isAdministrator(u)) {
    throw new ApiError(401, 'not_authorised', `User ${u.name} has no access to vhost ${vhost}`);
  }
}

/** Throws 401 unless the user's `kind` permission in `vhost` matches `resource` (RabbitMQ's regex rule). */
export function requirePermission(broker: Broker, u: ApiUser, vhost: string, kind: 'configure' | 'write' | 'read', resource: string): void {
  const p = broker.permission(u.name, vhost);
  const pattern = p?.[kind];
  let ok = false;
  if (pattern !== undefined && pattern !== '') {
    try {
      ok = new RegExp(pattern).test(resource);
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new ApiError(401, 'not_authorised', `access to '${resource}' in vhost '${vhost}' refused for user '${u.name}'`);
}
