import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { WebSocketDuplex } from './ws-duplex';

export interface WebSocketProtocol {
  /** Subprotocol to answer with, from those the client offered; null refuses the upgrade (HTTP 400), undefined accepts without one. */
  pickSubprotocol(offered: Set<string>): string | null | undefined;
  /** Frames sent as text (Web-STOMP) rather than binary. */
  sendText: boolean;
  /** Text frames from the client close the connection with 1003 (Web-MQTT). */
  binaryOnly: boolean;
  /** Serves one client over the WebSocket's byte stream. */
  handle(stream: Duplex, remoteAddress: string | undefined): void;
}

/** An HTTP listener that upgrades `path` (/ws) to a WebSocket speaking one protocol (Web-STOMP or Web-MQTT). */
export class WebSocketListener {
  private server: Server | undefined;
  private readonly wss: WebSocketServer;

  constructor(
    private readonly protocol: WebSocketProtocol,
    private readonly path = '/ws',
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: 16 * 1024 * 1024 + 4096,
      handleProtocols: (offered: Set<string>) => protocol.pickSubprotocol(offered) ?? false,
    });
  }

  listen(host: string, port: number): Promise<void> {
    const server = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end(`Upgrade to a WebSocket at ${this.path}\n`);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== this.path) return refuse(socket, 404, 'Not Found');
    const offered = new Set(
      (req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== ''),
    );
    const chosen = this.protocol.pickSubprotocol(offered);
    if (chosen === null) return refuse(socket, 400, 'Bad Request');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = new WebSocketDuplex(ws, { sendText: this.protocol.sendText, binaryOnly: this.protocol.binaryOnly });
      this.protocol.handle(stream, req.socket.remoteAddress);
    });
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
