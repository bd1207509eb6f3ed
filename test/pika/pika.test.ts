// Runs each Python pika script in test/pika against the broker; a script exits non-zero with a message on failure.
// Uses Debian's python3-pika (1.2) through /usr/bin/python3.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBroker, type BrokerProcess } from '../helpers/broker-process';

const PYTHON = process.env.WARREN_TEST_PYTHON ?? '/usr/bin/python3';
// Compiled to dist/test/pika; the scripts stay in the source tree.
const SCRIPTS_DIR = resolve(__dirname, '../../../test/pika');

let broker: BrokerProcess;

before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.stop();
});

function runScript(script: string, timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  return new Promise((ok) => {
    const child = spawn(PYTHON, [join(SCRIPTS_DIR, script)], {
      cwd: SCRIPTS_DIR,
      env: { ...process.env, WARREN_HOST: broker.host, WARREN_PORT: String(broker.port), PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, output });
    });
  });
}

const pikaAvailable = existsSync(PYTHON);
const scripts = readdirSync(SCRIPTS_DIR)
  .filter((f) => f.endsWith('.py') && !f.startsWith('_'))
  .sort();

describe('pika', { skip: pikaAvailable ? false : `${PYTHON} not found` }, () => {
  it('has the scripts this suite expects', () => {
    for (const s of [
      'hello_world.py',
      'url_parameters.py',
      'consumer.py',
      'confirms.py',
      'exchange_types.py',
      'nack_requeue.py',
      'channel_error.py',
      'auth_failure.py',
    ]) {
      assert.ok(scripts.includes(s), `missing ${s}`);
    }
  });

  for (const script of scripts) {
    it(script, async () => {
      const { code, output } = await runScript(script);
      assert.equal(code, 0, `${script} exited with ${code}:\n${output}`);
      assert.match(output, /^ok$/m, `${script} did not report ok:\n${output}`);
    });
  }
});
