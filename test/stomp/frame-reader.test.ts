// The STOMP frame reader on its own: frames split at every possible byte, heart-beats between
// frames, content-length bodies holding NULs, escapes, CRLF line ends, and its limits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, FrameError, FrameReader, type StompFrame } from '../../src/stomp/frame';

const LIMITS = { maxHeaders: 100, maxHeaderBytes: 100 * 1024, maxBodyBytes: 1024 * 1024 };

function readAll(chunks: Buffer[]): StompFrame[] {
  const reader = new FrameReader(LIMITS);
  const out: StompFrame[] = [];
  for (const c of chunks) reader.push(c, out);
  return out;
}

describe('STOMP frame reader', () => {
  const stream = Buffer.concat([
    Buffer.from('\n\r\n'),
    encodeFrame('SEND', [['destination', '/queue/a'], ['k:colon', 'line\nbreak\\back']], Buffer.from('with\0nul'), true),
    Buffer.from('\n'),
    Buffer.from('MESSAGE\r\ndestination:/topic/x\r\n\r\nplain body\0'),
    encodeFrame('RECEIPT', [['receipt-id', '7']], undefined, true),
  ]);

  it('reads the same frames whatever the chunking (every split point)', () => {
    const whole = readAll([stream]);
    assert.equal(whole.length, 3);
    assert.equal(whole[0].headers.get('k:colon'), 'line\nbreak\\back');
    assert.equal(whole[0].body.toString(), 'with\0nul');
    assert.equal(whole[1].command, 'MESSAGE');
    assert.equal(whole[1].headers.get('destination'), '/topic/x');
    assert.equal(whole[1].body.toString(), 'plain body');
    assert.equal(whole[2].headers.get('receipt-id'), '7');
    const summary = (frames: StompFrame[]) => frames.map((f) => `${f.command}|${[...f.headers].join(';')}|${f.body.toString('hex')}`);
    for (let cut = 1; cut < stream.length; cut++) {
      assert.deepEqual(summary(readAll([stream.subarray(0, cut), stream.subarray(cut)])), summary(whole), `split at ${cut}`);
    }
    assert.deepEqual(summary(readAll([...stream].map((b) => Buffer.from([b])))), summary(whole), 'byte by byte');
  });

  it('keeps the first of a repeated header', () => {
    const [f] = readAll([Buffer.from('SEND\ndestination:/queue/one\ndestination:/queue/two\n\n\0')]);
    assert.equal(f.headers.get('destination'), '/queue/one');
  });

  it('refuses bad commands, bad escapes, bodies over the limit and too many headers', () => {
    const cases = [
      'send\n\n\0',
      'SEND\nx:a\\tb\n\n\0',
      `SEND\ncontent-length:${2 * 1024 * 1024}\n\n`,
      'SEND\n' + Array.from({ length: 101 }, (_, i) => `h${i}:v`).join('\n') + '\n\n\0',
    ];
    for (const c of cases) assert.throws(() => readAll([Buffer.from(c)]), FrameError, c.slice(0, 30));
    assert.throws(() => readAll([Buffer.from('SEND\n\n'), Buffer.alloc(LIMITS.maxBodyBytes + 10, 0x61)]), FrameError);
  });
});
