// warrenctl's output piped into a slow reader arrives whole: the process waits for stdout to drain
// before exiting (it used to exit with the pipe's first 64 KiB written and lose the rest).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ctlSkip, useCtlBroker } from './ctl-support';

const WARRENCTL_JS = resolve(__dirname, '../../src/cli/warrenctl.js');
const skip = ctlSkip;
const node = useCtlBroker();
const clients = node.clients;

describe('warrenctl piped into another program', { skip }, () => {
  it('delivers every line of a list longer than a pipe buffer to a reader that starts late', async () => {
    const ch = await clients.channel();
    const queues = 1200;
    const prefix = `piped.${'q'.repeat(60)}.`;
    for (let i = 0; i < queues; i++) await ch.assertQueue(`${prefix}${i}`, { durable: false, autoDelete: false });
    // 1200 lines of ~70 bytes: about 84 KiB, more than the 64 KiB a pipe buffers.
    const script = `"${process.execPath}" "${WARRENCTL_JS}" -d "${node.broker.dataDir}" -q list_queues name | (sleep 0.5; grep -c '^piped\\.')`;
    const out = await new Promise<string>((ok, fail) =>
      execFile('sh', ['-c', script], { timeout: 20_000, env: { ...process.env, WARREN_LOG_LEVEL: 'warn' } }, (err, stdout) => (err ? fail(err) : ok(stdout))),
    );
    assert.equal(Number(out.trim()), queues);
    for (let i = 0; i < queues; i++) await ch.deleteQueue(`${prefix}${i}`);
  });
});
