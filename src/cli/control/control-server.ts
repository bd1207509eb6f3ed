/**
 * The node's local control endpoint: a Unix socket `<data dir>/warren.sock` that
 * warrenctl talks to (see control-protocol.ts). Security is the file system's: the socket
 * is created with mode 0600 (under a umask of 0177, so it is never reachable by others,
 * not even for an instant), hence only the user running the node (and root) can connect,
 * as only they can read an Erlang cookie file. A socket left by a killed node is replaced
 * at start; a socket that still answers belongs to a running node using the same data
 * dir, and is left alone (this node then runs without a control endpoint, and says so).
 */
import { chmodSync, lstatSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import type { Logger } from '../../log/logger';
import { CONTROL_SOCKET_FILE, ControlFrameDecoder, encodeControlFrame, MAX_SOCKET_PATH_BYTES, type CtlReply } from './control-protocol';

/** Simultaneous control connections; more are refused (warrenctl opens one at a time). */
const MAX_CONNECTIONS = 32;
/** A control connection silent for this long is closed. */
const IDLE_TIMEOUT_MS = 60_000;

/** Where the socket goes and who answers its requests. */
export interface ControlServerOptions {
  dataDir: string;
  /** Answers one decoded request; must not throw (errors are replies with ok: false). */
  handle(request: unknown): Promise<CtlReply>;
  log: Logger;
}

/** The listening control socket of one node; close() on shutdown. */
export class ControlServer {
  private readonly sockets = new Set<Socket>();
  private inode = -1;

  private constructor(
    readonly path: string,
    private readonly server: Server,
    private readonly log: Logger,
  ) {}

  /**
   * Listens on `<dataDir>/warren.sock`. Resolves to undefined (after logging why) when the
   * endpoint cannot be offered: path too long for a Unix socket, or another live node
   * answering on it. Rejects only on unexpected file system errors.
   */
  static async start(o: ControlServerOptions): Promise<ControlServer | undefined> {
    const log = o.log.child({ module: 'control' });
    const path = resolve(join(o.dataDir, CONTROL_SOCKET_FILE));
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
      log.warn({ path }, 'control socket path too long for a Unix socket; warrenctl cannot reach this node');
      return undefined;
    }
    if (!(await removeStaleSocket(path, log))) return undefined;
    const server = createServer();
    const control = new ControlServer(path, server, log);
    server.on('connection', (socket) => control.accept(socket, o.handle));
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      // The socket file is created by bind(), synchronously inside listen(): the umask makes it 0600 from birth.
      const umask = process.umask(0o177);
      try {
        server.listen(path, () => {
          server.off('error', fail);
          ok();
        });
      } finally {
        process.umask(umask);
      }
    });
    chmodSync(path, 0o600);
    control.inode = statSync(path).ino;
    log.info({ path }, 'control socket listening');
    return control;
  }

  private accept(socket: Socket, handle: ControlServerOptions['handle']): void {
    if (this.sockets.size >= MAX_CONNECTIONS) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', (err) => this.log.debug({ err }, 'control socket error'));
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
    const decoder = new ControlFrameDecoder();
    let chain = Promise.resolve();
    socket.on('data', (chunk) => {
      let requests: unknown[];
      try {
        requests = decoder.push(chunk);
      } catch (err) {
        this.log.warn({ err }, 'malformed control request; connection dropped');
        socket.destroy();
        return;
      }
      for (const request of requests) {
        chain = chain.then(async () => {
          let reply: CtlReply;
          try {
            reply = await handle(request);
          } catch (err) {
            reply = { ok: false, error: (err as Error).message ?? String(err) };
          }
          if (!socket.destroyed) socket.write(encodeControlFrame(reply));
        });
      }
    });
  }

  /** Stops listening, drops open control connections and removes the socket file if it is still ours. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((ok) => this.server.close(() => ok()));
    try {
      if (lstatSync(this.path).ino === this.inode) rmSync(this.path, { force: true });
    } catch {
      // Already gone.
    }
  }
}

/** Removes a socket file nobody answers on; false when a live node holds it (or it is not a socket). */
async function removeStaleSocket(path: string, log: Logger): Promise<boolean> {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return true;
  }
  if (!stat.isSocket()) {
    log.error({ path }, 'a file that is not a socket is in the way of the control socket; warrenctl cannot reach this node');
    return false;
  }
  const alive = await new Promise<boolean>((ok) => {
    const probe = connect(path);
    const timer = setTimeout(() => {
      probe.destroy();
      ok(true);
    }, 1000);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      ok(true);
    });
    probe.once('error', () => {
      clearTimeout(timer);
      ok(false);
    });
  });
  if (alive) {
    log.error({ path }, 'another running node answers on the control socket of this data dir; warrenctl cannot reach this node');
    return false;
  }
  rmSync(path, { force: true });
  return true;
}
