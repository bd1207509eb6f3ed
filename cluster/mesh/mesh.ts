/**
 * The inter-node mesh: a gRPC server on the inter-node port and one authenticated link to
 * every known peer, with heartbeats, reconnection, and channels for fire-and-forget
 * messages and request/response. Raft's transport and message forwarding build on it.
 *
 * One link per pair: the node whose name sorts first dials. The other node, when it
 * learns of a peer that sorts first, "knocks": it dials, authenticates, and is told to
 * wait (DIAL_BACK) while the first node dials it. So two nodes that know each other, or
 * only one of them the other, end up with exactly one stream, and a node never has to
 * choose between two streams (which would reorder messages).
 *
 * Concurrency: everything runs on the Node.js event loop; no method blocks. Handlers and
 * event listeners run synchronously inside the frame dispatch of the link that carried
 * the frame: a slow handler delays that peer's later frames, never other processes'.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../src/log/logger';
import type { Hello } from './frame-codec';
import { createMeshClient, createMeshServer, channelCredentials, meshServiceDefinition, openLinkCall, peerHost, serverCredentials, widenAcceptedWindow } from './grpc-service';
import { Link, type Admission, type LinkEnd, type LinkHost } from './link';
import { MeshError } from './mesh-errors';
import { Peer, type PeerAddress, type PeerInfo } from './peer';
import { InboundDispatcher, type MeshHandler } from './inbound-dispatcher';
import { resolveMeshOptions, type MeshOptions, type ResolvedMeshOptions } from './mesh-options';

export { DEFAULT_MESH_PORT, meshPortFor, type MeshOptions, type PeerResolver } from './mesh-options';

export interface Mesh {
  on(event: 'nodeup', listener: (name: string) => void): this;
  on(event: 'nodedown', listener: (name: string, reason: string) => void): this;
  /** A peer whose send() returned false can take more. */
  on(event: 'drain', listener: (name: string) => void): this;
  once(event: 'nodeup', listener: (name: string) => void): this;
  once(event: 'nodedown', listener: (name: string, reason: string) => void): this;
  once(event: 'drain', listener: (name: string) => void): this;
}

export class Mesh extends EventEmitter {
  readonly nodeName: string;
  private readonly options: ResolvedMeshOptions;
  private readonly log: Logger;
  private readonly server: grpc.Server;
  private readonly peersByName = new Map<string, Peer>();
  /** Names refused after disconnect(), until connect() again. */
  private readonly blocked = new Set<string>();
  private readonly links = new Set<Link>();
  private readonly clients = new Map<Link, grpc.Client>();
  private readonly dispatcher: InboundDispatcher;
  private readonly host: LinkHost;
  private readonly credentials: grpc.ChannelCredentials;
  private nextRequestId = 1;
  private boundPort = 0;
  private started = false;
  private closed = false;
  private droppedSends = 0;

  constructor(options: MeshOptions) {
    super();
    this.options = resolveMeshOptions(options);
    this.nodeName = options.nodeName;
    this.log = this.options.logger.child({ module: 'mesh', node: this.nodeName });
    this.server = createMeshServer(this.options.tickMs);
    this.dispatcher = new InboundDispatcher(this.log, (link, id, status, payload) => this.respond(link, id, status, payload));
    this.host = this.makeLinkHost();
    this.credentials = channelCredentials(options.tls);
    this.server.addService(meshServiceDefinition, {
      link: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => this.accept(call),
    });
  }

  /** The port the server listens on, once started. */
  get port(): number {
    return this.boundPort;
  }

  /** Binds the server. Rejects when the port is taken. Call once. */
  async start(): Promise<void> {
    if (this.started) throw new Error('mesh: already started');
    this.started = true;
    const { host, port } = this.options;
    const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.boundPort = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(target, serverCredentials(this.options.tls), (err, port) => (err ? reject(err) : resolve(port))),
    );
    this.log.info({ port: this.boundPort, tls: this.options.tls !== undefined, tickMs: this.options.tickMs }, 'mesh listening');
  }

  /**
   * Closes every link (telling peers why), rejects pending requests with CLOSED, emits
   * nodedown for peers that were up, and stops the server. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const peer of this.peersByName.values()) {
      peer.cancelRetry();
      if (peer.status === 'up') this.markDown(peer, 'mesh closed', 'CLOSED');
      else this.rejectPending(peer, 'CLOSED', 'mesh closed');
    }
    for (const link of [...this.links]) link.close('node shutting down', { graceful: true });
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000);
      force.unref();
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  /**
   * Adds a peer (or updates its address) and keeps a link to it from now on, redialing
   * with backoff whenever it drops. Without `address`, the resolver finds it. Clears an
   * earlier disconnect(). Connecting to an up peer only updates the address.
   */
  connect(name: string, address?: PeerAddress): void {
    this.assertOpen();
    if (name === this.nodeName) throw new Error(`mesh: cannot connect to self (${name})`);
    if (address === undefined && this.options.resolver === undefined && this.peersByName.get(name)?.learnedAddress === undefined) {
      throw new MeshError('UNKNOWN_PEER', `no address for ${name} and no resolver`, name);
    }
    this.blocked.delete(name);
    const peer = this.peerFor(name);
    if (address !== undefined) peer.explicitAddress = { host: address.host, port: address.port };
    if (peer.status !== 'up') {
      peer.resetBackoff();
      this.dial(peer);
    }
  }

  /**
   * Closes the link to `name`, forgets the peer (queued frames dropped, pending requests
   * rejected with PEER_DOWN) and refuses its inbound links until connect(name) again.
   */
  disconnect(name: string): void {
    this.blocked.add(name);
    const peer = this.peersByName.get(name);
    if (peer === undefined) return;
    this.peersByName.delete(name);
    peer.cancelRetry();
    const link = peer.link;
    const dialing = peer.dialing;
    if (peer.status === 'up') this.markDown(peer, 'disconnected', 'PEER_DOWN');
    else this.rejectPending(peer, 'PEER_DOWN', 'disconnected');
    peer.queue.clear();
    if (link !== undefined) link.close('disconnected by peer', { graceful: true });
    if (dialing instanceof Link) dialing.close('disconnected');
  }

  /** A snapshot of every known peer. */
  peers(): PeerInfo[] {
    return [...this.peersByName.values()].map((p) => p.info());
  }

  isUp(name: string): boolean {
    return this.peersByName.get(name)?.status === 'up';
  }

  /** Resolves when `name` is up (at once if it is); rejects with PEER_DOWN after `timeoutMs`. */
  whenUp(name: string, timeoutMs: number): Promise<void> {
    if (this.isUp(name)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onUp = (up: string): void => {
        if (up !== name) return;
        clearTimeout(timer);
        this.off('nodeup', onUp);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off('nodeup', onUp);
        reject(new MeshError('PEER_DOWN', `${name} not up after ${timeoutMs} ms`, name));
      }, timeoutMs);
      this.on('nodeup', onUp);
    });
  }

  /**
   * Registers the handler for inbound frames on `channel`, for both send() (return value
   * ignored) and request() (return value, or what its promise resolves to, is the
   * response; a throw or rejection becomes REMOTE_ERROR at the caller). Handlers run in
   * frame order per peer. Returns a function that unregisters it. One handler per channel.
   */
  handle(channel: string, handler: MeshHandler): () => void {
    return this.dispatcher.register(channel, handler);
  }

  /**
   * Fire-and-forget. Frames to one peer are written in call order (across channels too),
   * coalesced per event-loop turn. While the peer is not up they wait in a bounded queue;
   * when a link fails, what it had not yet written is dropped, as is everything past
   * maxQueueBytes. `payload` must not be modified afterwards (it is copied at flush).
   * Returns false when the caller should wait for 'drain' (queue above highWaterBytes or
   * dropped). Throws MeshError UNKNOWN_PEER (unknown peer, no resolver) or TOO_LARGE.
   */
  send(peerName: string, channel: string, payload: Buffer): boolean {
    this.assertOpen();
    if (payload.length > this.options.maxMessageBytes) throw new MeshError('TOO_LARGE', `payload of ${payload.length} bytes exceeds ${this.options.maxMessageBytes}`, peerName);
    const peer = this.peerOrConnect(peerName);
    if (peer.queue.bytes + payload.length > this.options.maxQueueBytes) {
      if (this.droppedSends++ % 10000 === 0) this.log.warn({ peer: peerName, queuedBytes: peer.queue.bytes, dropped: this.droppedSends }, 'peer queue full; dropping messages');
      peer.wantDrain = true;
      return false;
    }
    peer.queue.pushMessage(channel, payload);
    peer.link?.kick();
    if (peer.queue.bytes >= this.options.highWaterBytes || peer.link?.congested === true) {
      peer.wantDrain = true;
      return false;
    }
    return true;
  }

  /**
   * Sends a request and resolves with the handler's response. Rejects with MeshError:
   * PEER_DOWN at once when the peer is not up, or when its link fails before the
   * response; REQUEST_TIMEOUT after timeoutMs; REMOTE_ERROR or NO_HANDLER from the
   * peer; TOO_LARGE; UNKNOWN_PEER; CLOSED. A request that timed out or failed may still
   * have been executed by the peer.
   */
  request(peerName: string, channel: string, payload: Buffer, timeoutMs: number): Promise<Buffer> {
    try {
      this.assertOpen();
      if (payload.length > this.options.maxMessageBytes) throw new MeshError('TOO_LARGE', `payload of ${payload.length} bytes exceeds ${this.options.maxMessageBytes}`, peerName);
      const peer = this.peerOrConnect(peerName);
      if (peer.status !== 'up' || peer.link === undefined) {
        throw new MeshError('PEER_DOWN', `${peerName} is down${peer.lastError ? ` (${peer.lastError})` : ''}`, peerName);
      }
      const link = peer.link;
      const id = this.nextRequestId;
      this.nextRequestId = this.nextRequestId >= 0xffffffff ? 1 : this.nextRequestId + 1;
      return new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => {
          peer.pending.delete(id);
          reject(new MeshError('REQUEST_TIMEOUT', `no response from ${peerName} on ${channel} within ${timeoutMs} ms`, peerName));
        }, timeoutMs);
        peer.pending.set(id, { resolve, reject, timer });
        peer.queue.pushRequest(id, channel, payload);
        link.kick();
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // ---- peers and dialing ----

  private peerFor(name: string): Peer {
    let peer = this.peersByName.get(name);
    if (peer === undefined) {
      peer = new Peer(name, this.options.backoff);
      this.peersByName.set(name, peer);
    }
    return peer;
  }

  private peerOrConnect(name: string): Peer {
    const peer = this.peersByName.get(name);
    if (peer !== undefined) return peer;
    if (this.options.resolver === undefined || name === this.nodeName || this.blocked.has(name)) {
      throw new MeshError('UNKNOWN_PEER', `unknown peer ${name}`, name);
    }
    this.connect(name);
    return this.peersByName.get(name)!;
  }

  /** The node whose name sorts first dials; the other knocks (see the file comment). */
  private weDial(peerName: string): boolean {
    return this.nodeName < peerName;
  }

  private dial(peer: Peer): void {
    if (this.closed || peer.status === 'up' || peer.dialing !== undefined || this.peersByName.get(peer.name) !== peer) return;
    peer.cancelRetry();
    peer.dialing = true;
    void this.addressOf(peer).then(
      (address) => {
        if (peer.dialing !== true) return;
        if (this.closed || peer.status === 'up' || this.peersByName.get(peer.name) !== peer) {
          peer.dialing = undefined;
          return;
        }
        peer.lastAddress = address;
        const client = createMeshClient(address.host, address.port, this.credentials, this.options.tls);
        const link = new Link(this.host, 'dialer', openLinkCall(client), peer.name);
        this.links.add(link);
        this.clients.set(link, client);
        peer.dialing = link;
      },
      (err: unknown) => {
        peer.dialing = undefined;
        this.attemptFailed(peer, `cannot resolve address: ${(err as Error).message}`);
      },
    );
  }

  private async addressOf(peer: Peer): Promise<PeerAddress> {
    if (peer.explicitAddress !== undefined) return peer.explicitAddress;
    if (this.options.resolver !== undefined) {
      try {
        return await this.options.resolver(peer.name);
      } catch (err) {
        if (peer.learnedAddress === undefined) throw err;
      }
    }
    if (peer.learnedAddress !== undefined) return peer.learnedAddress;
    throw new Error('no address known');
  }

  private attemptFailed(peer: Peer, reason: string): void {
    if (reason !== peer.lastError) this.log.info({ peer: peer.name, reason }, 'cannot reach peer; will retry');
    else this.log.debug({ peer: peer.name, reason }, 'cannot reach peer; will retry');
    peer.lastError = reason;
    this.retryLater(peer, peer.nextBackoffMs());
  }

  private retryLater(peer: Peer, delayMs: number): void {
    if (this.closed || this.peersByName.get(peer.name) !== peer) return;
    peer.scheduleRetry(delayMs, () => this.dial(peer));
  }

  // ---- link callbacks ----

  private accept(call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
    if (this.closed) {
      call.on('error', () => undefined);
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'node shutting down' });
      return;
    }
    widenAcceptedWindow(call);
    this.links.add(new Link(this.host, 'acceptor', call, call.getPeer()));
  }

  private admit(link: Link, hello: Hello): Admission {
    const name = hello.nodeName;
    if (this.closed) return { action: 'refuse', reason: 'node shutting down' };
    if (this.blocked.has(name)) return { action: 'refuse', reason: `${this.nodeName} has disconnected ${name}` };
    const peer = this.peerFor(name);
    if (hello.advertisePort !== 0) {
      const host = hello.advertiseHost !== '' ? hello.advertiseHost : peerHost(link.transportPeer);
      peer.learnedAddress = { host, port: hello.advertisePort };
    }
    if (!this.weDial(name)) return { action: 'welcome' };
    // The peer sorts after us: it knocked. Dial it now unless a link is up already (a
    // knock that crossed our own successful dial).
    if (peer.status !== 'up') {
      peer.resetBackoff();
      if (peer.dialing === undefined) this.dial(peer);
    }
    return { action: 'dial-back' };
  }

  private linkUp(link: Link): void {
    const peer = this.peerFor(link.peerName);
    if (peer.dialing === link) peer.dialing = undefined;
    const previous = peer.link;
    if (previous !== undefined && previous !== link) {
      // The peer made a new link, so it has given up the old one (it restarted, or its
      // side failed first); what was in flight on the old one is lost.
      peer.link = undefined;
      this.markDown(peer, 'replaced by a new link', 'PEER_DOWN');
      previous.close('replaced by a new link');
    }
    if (peer.dialing instanceof Link) peer.dialing.close('link up in the other direction');
    peer.cancelRetry();
    peer.resetBackoff();
    peer.link = link;
    peer.status = 'up';
    peer.sinceMs = Date.now();
    peer.lastError = undefined;
    link.attach(peer.queue);
    this.log.info({ peer: peer.name, direction: link.role === 'dialer' ? 'outbound' : 'inbound' }, 'node up');
    this.emitSafely('nodeup', peer.name);
  }

  private linkClosed(link: Link, end: LinkEnd): void {
    this.links.delete(link);
    const client = this.clients.get(link);
    if (client !== undefined) {
      this.clients.delete(link);
      client.close();
    }
    const peer = this.peersByName.get(link.peerName);
    if (peer === undefined) return;
    if (peer.link === link) {
      peer.link = undefined;
      peer.lastError = end.reason;
      this.markDown(peer, end.reason, 'PEER_DOWN');
      // Both sides try again at once: the dialer dials, the other knocks, and the first
      // node to see the failure may find the peer already back.
      this.retryLater(peer, peer.nextBackoffMs());
      return;
    }
    if (peer.dialing !== link) return;
    peer.dialing = undefined;
    if (end.dialBack) {
      peer.lastError = undefined;
      // The peer dials us now; knock again only if that does not happen in time.
      this.retryLater(peer, this.options.handshakeTimeoutMs + peer.nextBackoffMs());
      return;
    }
    if (end.authFailed) this.log.error({ peer: peer.name, reason: end.reason }, 'authentication with peer failed; check the cluster secret');
    if (peer.status !== 'up') this.attemptFailed(peer, end.reason);
  }

  /** Marks an up peer down; its link, if any, is the caller's to close. */
  private markDown(peer: Peer, reason: string, code: 'PEER_DOWN' | 'CLOSED'): void {
    peer.link = undefined;
    peer.status = 'down';
    peer.sinceMs = Date.now();
    peer.queue.clear();
    this.rejectPending(peer, code, reason);
    this.log.warn({ peer: peer.name, reason }, 'node down');
    this.emitSafely('nodedown', peer.name, reason);
    if (peer.wantDrain) {
      peer.wantDrain = false;
      this.emitSafely('drain', peer.name);
    }
  }

  private rejectPending(peer: Peer, code: 'PEER_DOWN' | 'CLOSED', reason: string): void {
    if (peer.pending.size === 0) return;
    const pending = [...peer.pending.values()];
    peer.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new MeshError(code, `${peer.name} went down: ${reason}`, peer.name));
    }
  }

  private respond(link: Link, id: number, status: number, payload: Buffer): void {
    const peer = this.peersByName.get(link.peerName);
    // A response for a link that has since failed is dropped: its requester was rejected.
    if (peer === undefined || peer.link !== link || link.state !== 'up') return;
    peer.queue.pushResponse(id, status, payload);
    link.kick();
  }

  private onResponse(link: Link, id: number, status: number, payload: Buffer): void {
    const peer = this.peersByName.get(link.peerName);
    const pending = peer?.pending.get(id);
    if (peer === undefined || pending === undefined) return; // timed out already
    peer.pending.delete(id);
    clearTimeout(pending.timer);
    const error = this.dispatcher.responseError(status, payload, peer.name);
    if (error === undefined) pending.resolve(payload);
    else pending.reject(error);
  }

  private flushed(link: Link): void {
    const peer = this.peersByName.get(link.peerName);
    if (peer === undefined || !peer.wantDrain || peer.queue.bytes >= this.options.highWaterBytes / 2) return;
    peer.wantDrain = false;
    this.emitSafely('drain', peer.name);
  }

  private emitSafely(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'mesh event listener threw');
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new MeshError('CLOSED', 'mesh closed');
  }

  private makeLinkHost(): LinkHost {
    const mesh = this;
    return {
      nodeName: this.nodeName,
      secret: this.options.secret,
      tickMs: this.options.tickMs,
      handshakeTimeoutMs: this.options.handshakeTimeoutMs,
      maxBatchBytes: this.options.maxBatchBytes,
      advertiseHost: this.options.advertiseHost,
      get advertisePort() {
        return mesh.boundPort;
      },
      log: this.log,
      admit: (link, hello) => this.admit(link, hello),
      linkUp: (link) => this.linkUp(link),
      linkClosed: (link, end) => this.linkClosed(link, end),
      onMessage: (link, channel, payload) => this.dispatcher.message(link.peerName, channel, payload),
      onRequest: (link, id, channel, payload) => this.dispatcher.request(link, id, channel, payload),
      onResponse: (link, id, status, payload) => this.onResponse(link, id, status, payload),
      flushed: (link) => this.flushed(link),
    };
  }
}
