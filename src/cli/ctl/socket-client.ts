/**
 * warrenctl's connection to the node whose data dir it is pointed at: one request over
 * `<data dir>/warren.sock`, one reply. Errors are Errors whose message is fit for the user.
 */
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { CONTROL_SOCKET_FILE, ControlFrameDecoder, encodeControlFrame, type CtlReply, type CtlRequest } from '../control/control-protocol';

/** Where the node's control socket is (its data dir) and how long to wait for the reply. */
export interface SocketClientOptions {
  dataDir: string;
  timeoutMs: number;
}

/** The control socket path of a data dir. */
export function controlSocketPath(dataDir: string): string {
  return resolve(join(dataDir, CONTROL_SOCKET_FILE));
}

/** Sends one request and resolves with the node's reply (which may be `{ok: false}`). */
export function socketRequest(o: SocketClientOptions, request: CtlRequest): Promise<CtlReply> {
  const path = controlSocketPath(o.dataDir);
  return new Promise((ok, fail) => {
    const socket = connect(path);
    const decoder = new ControlFrameDecoder();
    let settled = false;
    const finish = (err: Error | undefined, reply?: CtlReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) fail(err);
      else ok(reply!);
    };
    const timer = setTimeout(() => finish(new Error(`no reply from the node on ${path} within ${o.timeoutMs} ms`)), o.timeoutMs);
    socket.once('connect', () => socket.write(encodeControlFrame(request)));
    socket.on('data', (chunk) => {
      try {
        const [reply] = decoder.push(chunk);
        if (reply !== undefined) finish(undefined, reply as CtlReply);
      } catch (err) {
        finish(new Error(`unreadable reply from the node: ${(err as Error).message}`));
      }
    });
    socket.once('close', () => finish(new Error(`the node closed the control connection on ${path} without replying`)));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(new Error(describeConnectError(err, path, o.dataDir))));
  });
}

function describeConnectError(err: NodeJS.ErrnoException, path: string, dataDir: string): string {
  switch (err.code) {
    case 'ENOENT':
      return `unable to connect to the node: no control socket at ${path}. Is warren-server running with WARREN_DATA_DIR=${dataDir}? (point warrenctl at it with -d DIR or WARREN_DATA_DIR)`;
    case 'ECONNREFUSED':
      return `unable to connect to the node: nothing listens on ${path} (the node is not running; the socket was left by a stopped node)`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied on ${path}: run warrenctl as the user that runs the node`;
    default:
      return `unable to connect to the node on ${path}: ${err.message}`;
  }
}

/** True when a node answers on the data dir's control socket (it is running). */
export function controlSocketAlive(dataDir: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((ok) => {
    const socket = connect(controlSocketPath(dataDir));
    const done = (alive: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      ok(alive);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
