import { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * A WebSocket as the byte stream the MQTT and STOMP connections read and write: each message
 * received is pushed as bytes, each write is sent as one message (binary, or text when
 * `sendText`). Text messages are refused with close code 1003 when `binaryOnly` (Web-MQTT).
 */
export class WebSocketDuplex extends Duplex {
  constructor(
    private readonly ws: WebSocket,
    private readonly opts: { sendText: boolean; binaryOnly: boolean },
  ) {
    super({ allowHalfOpen: false });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      if (this.opts.binaryOnly && !isBinary) {
        ws.close(1003, 'text frames are not accepted');
        return;
      }
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (!this.push(bytes)) ws.pause();
    });
    ws.on('close', () => {
      this.push(null);
      this.destroy();
    });
    ws.on('error', () => this.destroy());
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return callback();
    this.ws.send(chunk, { binary: !this.opts.sendText }, (err) => callback(err ?? null));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.ws.close(1000);
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.terminate();
    callback(err);
  }
}
