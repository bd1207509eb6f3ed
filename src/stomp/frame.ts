/** A STOMP frame: command, headers in arrival order (the first of a repeated header wins), body. */
export interface StompFrame {
  command: string;
  headers: Map<string, string>;
  body: Buffer;
}

/** Parser limits (RabbitMQ's): headers per frame, bytes per header line, body bytes. */
export interface FrameLimits {
  maxHeaders: number;
  maxHeaderBytes: number;
  maxBodyBytes: number;
}

export class FrameError extends Error {}

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
/** Frames whose headers are never escaped (STOMP 1.2: CONNECT and CONNECTED). */
const UNESCAPED = new Set(['CONNECT', 'CONNECTED']);

/**
 * An incremental STOMP frame reader. push() takes bytes as they arrive and returns the frames
 * completed so far; a partial frame waits for more. Heart-beat EOLs between frames are skipped.
 * Bytes are copied only when a frame straddles reads.
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  /** Once the header block is parsed: the frame waiting for its body. */
  private frame: StompFrame | undefined;
  private bodyLength = -1;
  /** Where to resume scanning for the end of headers or the body's NUL. */
  private scanFrom = 0;
  /** STOMP 1.0 trims leading blanks from header values and has no escapes. */
  version: '1.0' | '1.1' | '1.2' = '1.2';
  escapes = true;
  limits: FrameLimits;

  constructor(limits: FrameLimits) {
    this.limits = limits;
  }

  push(chunk: Buffer, out: StompFrame[]): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (!this.frame) {
        // Skip heart-beats (EOL) before a frame.
        let start = 0;
        while (start < this.pending.length && (this.pending[start] === LF || this.pending[start] === CR)) start++;
        if (start > 0) {
          this.pending = this.pending.subarray(start);
          this.scanFrom = 0;
        }
        if (this.pending.length === 0) return;
        const end = this.findHeaderEnd();
        if (end < 0) {
          const headerLimit = this.limits.maxHeaderBytes * (this.limits.maxHeaders + 1);
          if (this.pending.length > headerLimit) throw new FrameError('headers too large');
          return;
        }
        this.frame = this.parseHead(this.pending.subarray(0, end));
        this.pending = this.pending.subarray(end + this.headerEndBytes);
        this.scanFrom = 0;
        const cl = this.frame.headers.get('content-length');
        if (cl !== undefined) {
          if (!/^\d+$/.test(cl.trim())) throw new FrameError(`invalid content-length '${cl}'`);
          this.bodyLength = Number(cl.trim());
          if (this.bodyLength > this.limits.maxBodyBytes) throw new FrameError('frame body too large');
        } else this.bodyLength = -1;
      }
      if (this.bodyLength >= 0) {
        if (this.pending.length < this.bodyLength + 1) return;
        if (this.pending[this.bodyLength] !== NUL) throw new FrameError('frame body not terminated by NUL after content-length bytes');
        this.frame.body = this.pending.subarray(0, this.bodyLength);
        this.pending = this.pending.subarray(this.bodyLength + 1);
      } else {
        const nul = this.pending.indexOf(NUL, this.scanFrom);
        if (nul < 0) {
          if (this.pending.length > this.limits.maxBodyBytes) throw new FrameError('frame body too large');
          this.scanFrom = this.pending.length;
          return;
        }
        this.frame.body = this.pending.subarray(0, nul);
        this.pending = this.pending.subarray(nul + 1);
      }
      out.push(this.frame);
      this.frame = undefined;
      this.scanFrom = 0;
      if (this.pending.length === 0) return;
    }
  }

  /** Length of the blank line that ended the last header block (LF LF or LF CR LF). */
  private headerEndBytes = 0;

  private findHeaderEnd(): number {
    const buf = this.pending;
    for (let i = Math.max(0, this.scanFrom - 3); i < buf.length; i++) {
      if (buf[i] !== LF) continue;
      // A header line ends with LF (or CRLF); an empty line ends the block.
      if (i + 1 < buf.length && buf[i + 1] === LF) return this.mark(i, 2);
      if (i + 2 < buf.length && buf[i + 1] === CR && buf[i + 2] === LF) return this.mark(i, 3);
    }
    this.scanFrom = buf.length;
    return -1;
  }

  private mark(index: number, eolBytes: number): number {
    this.headerEndBytes = eolBytes;
    return index;
  }

  private parseHead(head: Buffer): StompFrame {
    const lines = head.toString('utf8').split('\n');
    let command = lines[0];
    if (command.endsWith('\r')) command = command.slice(0, -1);
    if (command === '' || command.length > 32 || !/^[A-Z]+$/.test(command)) throw new FrameError(`bad command '${command.slice(0, 32)}'`);
    const headers = new Map<string, string>();
    if (lines.length - 1 > this.limits.maxHeaders) throw new FrameError('too many headers');
    const unescape = this.escapes && this.version !== '1.0' && !UNESCAPED.has(command);
    for (let i = 1; i < lines.length; i++) {
      let line = lines[i];
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') continue;
      if (line.length > this.limits.maxHeaderBytes) throw new FrameError('header too long');
      const colon = line.indexOf(':');
      if (colon < 0) throw new FrameError(`header line without a colon`);
      let name = line.slice(0, colon);
      let value = line.slice(colon + 1);
      if (unescape) {
        name = unescapeHeader(name);
        value = unescapeHeader(value);
      } else if (this.version === '1.0') value = value.replace(/^[ \t]+/, '');
      if (!headers.has(name)) headers.set(name, value);
    }
    return { command, headers, body: Buffer.alloc(0) };
  }
}

function unescapeHeader(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(.)?/g, (_m, c: string | undefined) => {
    switch (c) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 'c':
        return ':';
      case '\\':
        return '\\';
      default:
        throw new FrameError(`undefined escape sequence '\\${c ?? ''}'`);
    }
  });
}

function escapeHeader(s: string): string {
  return /[\\\n\r:]/.test(s) ? s.replace(/[\\\n\r:]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\c')) : s;
}

/** Encodes a frame; header escaping as in 1.1/1.2 (not for CONNECTED, nor in 1.0). content-length for a non-empty body. */
export function encodeFrame(command: string, headers: [string, string][], body: Buffer | undefined, escape: boolean): Buffer {
  let head = command + '\n';
  const esc = escape && !UNESCAPED.has(command);
  for (const [k, v] of headers) head += esc ? `${escapeHeader(k)}:${escapeHeader(v)}\n` : `${k}:${v.replace(/\n/g, ' ')}\n`;
  if (body && body.length > 0) head += `content-length:${body.length}\n`;
  head += '\n';
  const headBytes = Buffer.byteLength(head);
  const bodyLength = body ? body.length : 0;
  const out = Buffer.allocUnsafe(headBytes + bodyLength + 2);
  out.write(head, 0, 'utf8');
  if (body) body.copy(out, headBytes);
  out[headBytes + bodyLength] = NUL;
  out[headBytes + bodyLength + 1] = LF;
  return out;
}
