// A minimal STOMP client over a raw socket, to test frames byte by byte (frames are read with a
// deliberately separate, simple parser: content-length or NUL, no escapes except for assertions).
import { connect, type Socket } from 'node:net';

export interface Frame {
  command: string;
  headers: Record<string, string>;
  body: string;
}

export class RawStomp {
  readonly frames: Frame[] = [];
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((ok) =>
      socket.on('close', () => {
        this.closed = true;
        ok();
        this.wake();
      }),
    );
  }

  static open(port: number): Promise<RawStomp> {
    return new Promise((ok, fail) => {
      const s = connect(port, '127.0.0.1', () => ok(new RawStomp(s)));
      s.once('error', fail);
    });
  }

  /** Opens and logs in; resolves once CONNECTED arrived. */
  static async login(port: number, headers: Record<string, string> = {}): Promise<RawStomp> {
    const c = await RawStomp.open(port);
    c.send('CONNECT', { 'accept-version': '1.2', host: '/', login: 'guest', passcode: 'guest', ...headers });
    const f = await c.next();
    if (f.command !== 'CONNECTED') throw new Error(`login failed: ${JSON.stringify(f)}`);
    return c;
  }

  send(command: string, headers: Record<string, string> = {}, body = ''): void {
    let head = command + '\n';
    for (const [k, v] of Object.entries(headers)) head += `${k}:${v}\n`;
    this.socket.write(Buffer.concat([Buffer.from(head + '\n'), Buffer.from(body), Buffer.from([0])]));
  }

  writeRaw(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** The next received frame (optionally the next with this command); fails after timeoutMs. */
  async next(command?: string, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => command === undefined || f.command === command);
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (this.closed) throw new Error(`connection closed while waiting for ${command ?? 'a frame'}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${command ?? 'a frame'}; have ${JSON.stringify(this.frames)}`);
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, left);
        this.waiters.push(() => {
          clearTimeout(t);
          ok();
        });
      });
    }
  }

  /** Sends with a receipt header and waits for its RECEIPT (or fails on ERROR). */
  async withReceipt(command: string, headers: Record<string, string> = {}, body = ''): Promise<void> {
    const receipt = `r-${Math.random().toString(36).slice(2)}`;
    this.send(command, { ...headers, receipt }, body);
    const f = await this.nextOf(['RECEIPT', 'ERROR']);
    if (f.command === 'ERROR') throw new Error(`ERROR ${f.headers.message}: ${f.body}`);
    if (f.headers['receipt-id'] !== receipt) throw new Error(`receipt ${f.headers['receipt-id']} != ${receipt}`);
  }

  async nextOf(commands: string[], timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => commands.includes(f.command));
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (this.closed || Date.now() > deadline) throw new Error(`no ${commands.join('/')} (closed=${this.closed})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private parse(): void {
    for (;;) {
      let start = 0;
      while (start < this.buf.length && (this.buf[start] === 0x0a || this.buf[start] === 0x0d)) start++;
      this.buf = this.buf.subarray(start);
      const headEnd = this.buf.indexOf('\n\n');
      if (headEnd < 0) return;
      const lines = this.buf.subarray(0, headEnd).toString().split('\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const c = l.indexOf(':');
        if (!(l.slice(0, c) in headers)) headers[l.slice(0, c)] = l.slice(c + 1);
      }
      const bodyStart = headEnd + 2;
      let bodyEnd: number;
      if (headers['content-length'] !== undefined) {
        bodyEnd = bodyStart + Number(headers['content-length']);
        if (this.buf.length < bodyEnd + 1) return;
      } else {
        bodyEnd = this.buf.indexOf(0, bodyStart);
        if (bodyEnd < 0) return;
      }
      this.frames.push({ command: lines[0], headers, body: this.buf.subarray(bodyStart, bodyEnd).toString() });
      this.buf = this.buf.subarray(bodyEnd + 1);
      this.wake();
    }
  }
}
