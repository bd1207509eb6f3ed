// The access-control table and a connection limit with pika (Debian's python3-pika): see pika_permissions.py.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { brokerFixture } from '../helpers/broker-fixture';
import { isExternalBroker, type BrokerProcess } from '../helpers/broker-process';
import { uniqueName } from '../helpers/amqp-test';
import { PYTHON } from '../helpers/python-script';
import { ctlOk } from '../ctl/ctl-support';
import { addUser } from './auth-support';

// Compiled to dist/test/auth; the script stays in the source tree.
const SCRIPT = resolve(__dirname, '../../../test/auth/pika_permissions.py');
const skip = isExternalBroker() ? 'users are made with warrenctl' : false;
const { broker, clients } = brokerFixture();

function runScript(b: BrokerProcess, config: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((ok) => {
    const child = spawn(PYTHON, [SCRIPT], {
      env: { ...process.env, WARREN_HOST: b.host, WARREN_PORT: String(b.port), WARREN_ACCESS: JSON.stringify(config), PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, output });
    });
  });
}

describe('access control with pika', { skip }, () => {
  it('refuses each operation with 403 and the exact text, allows matching patterns, enforces max-connections', async () => {
    const b = broker();
    const ch = await (await clients.connect()).createChannel();
    const queue = uniqueName('pq');
    const exchange = uniqueName('px');
    await ch.assertQueue(queue);
    await ch.assertExchange(exchange, 'direct');
    const nobody = await addUser(b.dataDir, 'pnobody', '^$', '^$', '^$');
    const prefix = uniqueName('pp');
    const esc = prefix.replace(/\./g, '\\.');
    const scoped = await addUser(b.dataDir, 'pscoped', `^${esc}\\.`, `^${esc}\\.`, `^${esc}\\.`);
    const limitedVhost = uniqueName('pv');
    await ctlOk(b.dataDir, ['add_vhost', limitedVhost]);
    const limited = await addUser(b.dataDir, 'plim', '.*', '.*', '.*', limitedVhost);
    await ctlOk(b.dataDir, ['set_vhost_limits', '-p', limitedVhost, '{"max-connections": 1}']);
    const { code, output } = await runScript(b, { nobody, scoped, prefix, queue, exchange, limited, limitedVhost });
    assert.equal(code, 0, output);
    assert.match(output, /^ok$/m, output);
  });
});
