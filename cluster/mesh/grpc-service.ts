/**
 * The mesh's gRPC surface, defined in code: one bidirectional streaming method whose
 * messages are opaque Buffers (batches of our own frames, see frame-codec.ts), so no
 * .proto file, proto-loader or protobuf codegen is involved.
 */
import * as grpc from '@grpc/grpc-js';

export const LINK_METHOD_PATH = '/warren.mesh.v1.Mesh/Link';

const identity = (b: Buffer): Buffer => b;

/** Largest gRPC message either side accepts; batches are kept far below it. */
export const MAX_GRPC_MESSAGE_BYTES = 256 * 1024 * 1024;

export const meshServiceDefinition: grpc.ServiceDefinition = {
  link: {
    path: LINK_METHOD_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: 'link',
  },
};

/** Mutual TLS material, PEM encoded. Every node presents `cert` and checks its peer against `ca`. */
export interface MeshTlsOptions {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /**
   * Check that the peer certificate names the dialed host (default true). Set false to
   * trust any certificate the CA signed, as is common for inter-node TLS where node
   * certificates name nodes rather than addresses.
   */
  verifyHostname?: boolean;
  /**
   * Name to expect in the peer certificate (and send as SNI) instead of the dialed host;
   * for example when dialing by IP address a certificate issued to a DNS name.
   */
  serverName?: string;
}

/** The HTTP/2 receive window of a link, both ways (the default 64 KiB stalls a batch of 1 KiB messages mid-way). */
const FLOW_CONTROL_WINDOW_BYTES = 4 * 1024 * 1024;

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MAX_GRPC_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_GRPC_MESSAGE_BYTES,
  // Each dial gets its own connection: reconnect timing is ours (peer-driver.ts), and two
  // mesh nodes in one process must not share a connection to a third.
  'grpc.use_local_subchannel_pool': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
};

export function serverCredentials(tls: MeshTlsOptions | undefined): grpc.ServerCredentials {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
}

export function channelCredentials(tls: MeshTlsOptions | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  const verifyOptions = tls.verifyHostname === false ? { checkServerIdentity: () => undefined } : {};
  return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert, verifyOptions);
}

/**
 * The server. HTTP/2 keepalive pings every `tickMs` drop the connection of a peer that
 * vanished without closing it (power loss, partition) once our own heartbeat has given
 * up on its link; otherwise the dead session would linger until TCP gives up.
 */
export function createMeshServer(tickMs: number): grpc.Server {
  return new grpc.Server({
    'grpc.max_receive_message_length': MAX_GRPC_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_GRPC_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': Math.max(1000, tickMs),
    'grpc.keepalive_timeout_ms': Math.max(1000, tickMs),
  });
}

interface WindowedSession {
  setLocalWindowSize(bytes: number): void;
  settings(s: { initialWindowSize: number }): void;
}

/**
 * Widens the accepting side's HTTP/2 receive window of a link to the dialing side's
 * (FLOW_CONTROL_WINDOW_BYTES): grpc-js sets it only for clients, so a batch the dialer sends
 * (a leader's appends to its followers, deliveries) would wait for a WINDOW_UPDATE every
 * 64 KiB. grpc-js exposes no option for it: the session is reached through the call's
 * internals, and if they change this does nothing (links still work, only slower).
 */
export function widenAcceptedWindow(call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
  let at: unknown = call;
  for (let depth = 0; depth < 6 && at !== null && typeof at === 'object'; depth++) {
    const o = at as { stream?: { session?: WindowedSession }; call?: unknown; nextCall?: unknown };
    const session = o.stream?.session;
    if (session && typeof session.setLocalWindowSize === 'function' && typeof session.settings === 'function') {
      try {
        session.setLocalWindowSize(FLOW_CONTROL_WINDOW_BYTES);
        session.settings({ initialWindowSize: FLOW_CONTROL_WINDOW_BYTES });
      } catch {
        // A session closing meanwhile: nothing to widen.
      }
      return;
    }
    at = o.call ?? o.nextCall;
  }
}

/** A client for one peer address; close it to drop its connection. */
export function createMeshClient(host: string, port: number, credentials: grpc.ChannelCredentials, tls: MeshTlsOptions | undefined): grpc.Client {
  const target = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
  const options = tls?.serverName === undefined ? CHANNEL_OPTIONS : { ...CHANNEL_OPTIONS, 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName };
  return new grpc.Client(target, credentials, options);
}

/** Opens the link stream on `client`. */
export function openLinkCall(client: grpc.Client): grpc.ClientDuplexStream<Buffer, Buffer> {
  return client.makeBidiStreamRequest<Buffer, Buffer>(LINK_METHOD_PATH, identity, identity, new grpc.Metadata());
}

/** Host part of a server call's getPeer() ("1.2.3.4:5678", "::ffff:1.2.3.4:5678"). */
export function peerHost(peer: string): string {
  const colon = peer.lastIndexOf(':');
  let host = colon > 0 ? peer.slice(0, colon) : peer;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.startsWith('::ffff:') && host.includes('.')) host = host.slice('::ffff:'.length);
  return host;
}
