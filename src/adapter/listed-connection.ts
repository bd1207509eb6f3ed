import type { Duplex } from 'node:stream';

/**
 * What the management API lists of a connection of another protocol (MQTT, STOMP), and the
 * one thing it does to one: close it. Implemented by those protocols' connections; read only
 * off the message path (on an API request or a metrics scrape).
 */
export interface ListedConnection {
  /** The connection as listed, or undefined while it is not logged in (not listed then). */
  listing(): ConnectionListing | undefined;
  /** Closes the connection because an operator asked (DELETE /api/connections/{name}). */
  forceClose(reason: string): void;
}

export interface ConnectionListing {
  /** As RabbitMQ shows it: "MQTT 3.1.1", "STOMP 1.2". */
  protocol: string;
  user: string;
  vhost: string;
  peerHost: string;
  peerPort: number | undefined;
  host: string;
  port: number | undefined;
  connectedAtMs: number;
  clientProperties: Record<string, string>;
  recvBytes: number;
  sendBytes: number;
}

/** Addresses and byte counts of the stream under a connection (a TCP socket, a TLS socket, or a WebSocket stream with fewer). */
export function streamEnds(stream: Duplex, remoteAddress: string | undefined): Pick<ConnectionListing, 'peerHost' | 'peerPort' | 'host' | 'port' | 'recvBytes' | 'sendBytes'> {
  const s = stream as Partial<{ remotePort: number; localAddress: string; localPort: number; bytesRead: number; bytesWritten: number }>;
  const strip = (a: string | undefined) => (a?.startsWith('::ffff:') ? a.slice(7) : (a ?? ''));
  let recv = 0;
  let send = 0;
  try {
    recv = s.bytesRead ?? 0;
    send = s.bytesWritten ?? 0;
  } catch {
    // a destroyed socket no longer reports its byte counts
  }
  return { peerHost: strip(remoteAddress), peerPort: s.remotePort, host: strip(s.localAddress), port: s.localPort, recvBytes: recv, sendBytes: send };
}
