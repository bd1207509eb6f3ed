/** A candidate peer found by a discovery backend. */
export interface DiscoveredPeer {
  /** `alive@host`; for DNS and static backends it may name the host by address. */
  nodeName: string;
  /** An address or host name the peer was seen at, when the backend knows one. */
  host?: string;
  /** The peer's inter-node port, when the backend learnt it (mDNS); else ask its port mapper. */
  distPort?: number;
  /** Which backend found it. */
  source: 'static' | 'dns' | 'mdns';
}

/**
 * Called for each newly found peer. A backend reports a peer again only when
 * what it knows about it changed (or, for mDNS, after the peer said goodbye and
 * came back), so listeners need not deduplicate. Never called after `stop()`
 * resolves. Exceptions thrown by the listener are caught and logged.
 */
export type PeerListener = (peer: DiscoveredPeer) => void;

/**
 * A source of candidate peers. Discovery only proposes names: joining, and
 * checking that a candidate is really a Warren node of this cluster, is the
 * cluster layer's work.
 *
 * `start` resolves once the backend is running (its first round may still be in
 * flight); it rejects if the backend cannot run at all (e.g. the mDNS socket
 * cannot be bound). `start` is called at most once. `stop` is idempotent and
 * releases every timer and socket.
 */
export interface Discovery {
  start(onPeer: PeerListener): Promise<void>;
  stop(): Promise<void>;
}

/** Calls `listener`, logging instead of throwing. */
export function notifyPeer(listener: PeerListener, peer: DiscoveredPeer, onError: (err: unknown) => void): void {
  try {
    listener(peer);
  } catch (err) {
    onError(err);
  }
}
