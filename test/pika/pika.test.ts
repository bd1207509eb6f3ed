// Runs each Python pika script in test/pika against the broker; a script exits non-zero with a message on failure.
// Uses Debian's python3-pika (1.2) through /usr/bin/python3.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { brokerFixture } from '../helpers/broker-fixture';
import { PYTHON, runPythonScript } from '../helpers/python-script';

// Compiled to dist/test/pika; the scripts stay in the source tree.
const SCRIPTS_DIR = resolve(__dirname, '../../../test/pika');

const { broker } = brokerFixture();

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
      const { code, output } = await runPythonScript(SCRIPTS_DIR, script, broker(), 60_000);
      assert.equal(code, 0, `${script} exited with ${code}:\n${output}`);
      assert.match(output, /^ok$/m, `${script} did not report ok:\n${output}`);
    });
  }
});
