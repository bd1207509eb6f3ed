// Runs the Python scripts of this folder against the broker: the pika retry topology (python3-pika) and a
// Celery-style kombu workload (python3-kombu; skipped when that Debian package is not installed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { brokerFixture } from '../helpers/broker-fixture';
import { PYTHON, runPythonScript } from '../helpers/python-script';

// Compiled to dist/test/extensions; the scripts stay in the source tree.
const SCRIPTS_DIR = resolve(__dirname, '../../../test/extensions');

const { broker } = brokerFixture();

function hasModule(module: string): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

async function expectOk(script: string): Promise<void> {
  const { code, output } = await runPythonScript(SCRIPTS_DIR, script, broker(), 30_000);
  assert.equal(code, 0, `${script} exited with ${code}:\n${output}`);
  assert.match(output, /^ok$/m, `${script} did not report ok:\n${output}`);
}

describe('python clients', () => {
  it('pika: reject twice through a delay queue, accept the third time, x-death count 2', {
    skip: hasModule('pika') ? false : `${PYTHON} has no pika (apt-get install python3-pika)`,
  }, () => expectOk('retry_topology.py'));

  it('kombu: Celery-style priority task queue with dead lettering and expiration', {
    skip: hasModule('kombu') ? false : `${PYTHON} has no kombu (apt-get install python3-kombu)`,
  }, () => expectOk('kombu_celery_style.py'));
});
