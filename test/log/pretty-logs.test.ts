// Logs are readable lines on a terminal and JSON lines otherwise (DESIGN.md: "JSON by default, pretty when a
// terminal"). The terminal case runs warren-server under a pseudo-terminal made by util-linux's script(1).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { prettyLine } from '../../src/log/pretty-line';
import { freePort } from '../helpers/free-port';

const SERVER_JS = resolve(__dirname, '../../src/cli/warren-server.js');

describe('readable log lines', () => {
  it('formats time, level, module, message, fields and an error stack', () => {
    const json = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5, 678), pid: 1, module: 'amqp', connection: '127.0.0.1:5#1', replyCode: 406, msg: 'closing channel', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x (y.js:1:1)' } });
    assert.equal(prettyLine(`${json}\n`, false), "03:04:05.678 WARN  [amqp] closing channel connection=127.0.0.1:5#1 replyCode=406\n    Error: boom\n        at x (y.js:1:1)\n");
    assert.match(prettyLine(json, true), /\x1b\[33mWARN/);
    assert.equal(prettyLine('not json', false), 'not json\n');
    assert.equal(prettyLine(JSON.stringify({ level: 30, time: 0, msg: 'm', text: 'two words' }), false), '00:00:00.000 INFO  m text="two words"\n');
  });

  function runServerBriefly(viaTerminal: boolean): Promise<string> {
    return (async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'warren-logs-'));
      const env = { ...process.env, WARREN_NODE_PORT: String(await freePort()), WARREN_NODE_IP: '127.0.0.1', WARREN_DATA_DIR: dataDir, WARREN_LOG_LEVEL: 'info', WARREN_EPMD_PORT: String(await freePort()) };
      const command = `"${process.execPath}" "${SERVER_JS}"`;
      const [file, args] = viaTerminal ? ['script', ['-qec', command, '/dev/null']] : [process.execPath, [SERVER_JS]];
      try {
        return await new Promise<string>((ok) => {
          const child = execFile(file, args, { env, timeout: 10_000, killSignal: 'SIGTERM' }, (_err, stdout) => ok(stdout));
          let seen = '';
          child.stdout!.on('data', (d: string) => {
            seen += d;
            if (seen.includes('control socket listening')) child.kill('SIGTERM');
          });
        });
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    })();
  }

  it('warren-server writes readable lines to a terminal and JSON lines to a pipe', async () => {
    // eslint-disable-next-line no-control-regex
    const onTerminal = (await runServerBriefly(true)).replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(onTerminal, /\d\d:\d\d:\d\d\.\d{3} .*INFO .*AMQP listener started/);
    assert.doesNotMatch(onTerminal, /"msg":/);
    const piped = await runServerBriefly(false);
    const line = piped.split('\n').find((l) => l.includes('AMQP listener started'));
    assert.ok(line, piped);
    assert.equal(JSON.parse(line).msg, 'AMQP listener started');
  });
});
