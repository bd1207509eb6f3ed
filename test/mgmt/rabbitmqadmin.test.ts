// rabbitmqadmin, the Python script shipped with Debian's rabbitmq-server package, run unchanged against
// Warren: list, declare, publish, get, delete, close connection, export and import.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { uniqueName, waitFor } from '../helpers/amqp-test';
import { api, enc, mgmtFixture } from './mgmt-support';

/** The script inside the package's management plugin; CI installs rabbitmq-server so this must be found. */
function findRabbitmqadmin(): string {
  const lib = '/usr/lib/rabbitmq/lib';
  for (const server of existsSync(lib) ? readdirSync(lib) : []) {
    const plugins = join(lib, server, 'plugins');
    for (const plugin of existsSync(plugins) ? readdirSync(plugins) : []) {
      const script = join(plugins, plugin, 'priv/www/cli/rabbitmqadmin');
      if (plugin.startsWith('rabbitmq_management-') && existsSync(script)) return script;
    }
  }
  throw new Error('rabbitmqadmin not found under /usr/lib/rabbitmq/lib/*/plugins/rabbitmq_management-*/priv/www/cli (apt-get install rabbitmq-server)');
}

const SCRIPT = findRabbitmqadmin();
const { m, clients } = mgmtFixture();
const dir = mkdtempSync(join(tmpdir(), 'warren-rabbitmqadmin-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function admin(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('/usr/bin/python3', [SCRIPT, '-H', '127.0.0.1', '-P', String(m().mgmtPort), '-u', 'guest', '-p', 'guest', ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await admin(...args);
  assert.equal(r.code, 0, `rabbitmqadmin ${args.join(' ')} failed:\n${r.out}`);
  return r.out;
}

describe('rabbitmqadmin (RabbitMQ 3.10) against Warren', () => {
  it('declares, lists, publishes, gets and deletes', async () => {
    const q = uniqueName('ra');
    const ex = uniqueName('rx');
    assert.match(await ok('declare', 'queue', `name=${q}`, 'durable=false', 'arguments={"x-max-length": 100}'), /queue declared/);
    assert.match(await ok('declare', 'exchange', `name=${ex}`, 'type=topic'), /exchange declared/);
    assert.match(await ok('declare', 'binding', `source=${ex}`, `destination=${q}`, 'routing_key=k.#'), /binding declared/);
    assert.match(await ok('publish', `exchange=${ex}`, 'routing_key=k.1', 'payload=hello warren', 'properties={"content_type": "text/plain"}'), /Message published$/m);
    assert.match(await ok('publish', `exchange=${ex}`, 'routing_key=nowhere', 'payload=x'), /Message published but NOT routed/);
    const queues = JSON.parse(await ok('-f', 'raw_json', 'list', 'queues', 'name', 'messages', 'arguments'));
    const mine = queues.find((x: any) => x.name === q);
    assert.equal(mine.messages, 1);
    assert.equal(mine.arguments['x-max-length'], 100);
    const got = JSON.parse(await ok('-f', 'raw_json', 'get', `queue=${q}`, 'ackmode=ack_requeue_false'));
    assert.equal(got[0].payload, 'hello warren');
    assert.equal(got[0].properties.content_type, 'text/plain');
    assert.match(await ok('list', 'bindings', 'source', 'destination', 'routing_key'), new RegExp(`${ex.replace(/\./g, '\\.')}.*k\\.#`));
    assert.match(await ok('list', 'exchanges'), new RegExp(ex.replace(/\./g, '\\.')));
    for (const what of ['connections', 'channels', 'consumers', 'users', 'vhosts', 'permissions', 'nodes', 'policies']) await ok('list', what);
    assert.match(await ok('show', 'overview'), /warren/i);
    await ok('declare', 'policy', 'name=p1', 'pattern=^none$', 'definition={"max-length": 5}', 'apply-to=queues');
    assert.match(await ok('list', 'policies'), /p1/);
    await ok('delete', 'policy', 'name=p1');
    await ok('delete', 'binding', `source=${ex}`, `destination=${q}`, 'destination_type=queue', 'properties_key=k.%23');
    assert.match(await ok('delete', 'queue', `name=${q}`), /queue deleted/);
    assert.match(await ok('delete', 'exchange', `name=${ex}`), /exchange deleted/);
    const missing = await admin('delete', 'queue', `name=${q}`);
    assert.notEqual(missing.code, 0);
    assert.match(missing.out, /Not found/);
  });

  it('closes a connection and manages users, vhosts and permissions', async () => {
    const conn = await clients.connect();
    const closed = new Promise<Error>((resolve) => conn.once('close', resolve));
    const names = JSON.parse(await ok('-f', 'raw_json', 'list', 'connections', 'name'));
    assert.ok(names.length >= 1);
    await ok('close', 'connection', `name=${names[0].name}`);
    assert.match(String(await closed), /CONNECTION_FORCED/);
    const vhost = uniqueName('rv');
    await ok('declare', 'vhost', `name=${vhost}`);
    await ok('declare', 'user', 'name=ra-user', 'password=ra-pass', 'tags=monitoring');
    await ok('declare', 'permission', `vhost=${vhost}`, 'user=ra-user', 'configure=.*', 'write=.*', 'read=.*');
    assert.equal((await api(m(), 'GET', '/api/whoami', { auth: 'ra-user:ra-pass' })).json.tags[0], 'monitoring');
    const amqp = await clients.connect({ user: 'ra-user', password: 'ra-pass', vhost });
    await amqp.close();
    await ok('delete', 'permission', `vhost=${vhost}`, 'user=ra-user');
    await ok('delete', 'user', 'name=ra-user');
    await ok('delete', 'vhost', `name=${vhost}`);
    assert.equal((await api(m(), 'GET', `/api/vhosts/${enc(vhost)}`)).status, 404);
  });

  it('exports definitions and imports them back', async () => {
    const q = uniqueName('rdef');
    await ok('declare', 'queue', `name=${q}`, 'durable=true');
    const file = join(dir, 'defs.json');
    assert.match(await ok('export', file), /Exported definitions/);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    assert.ok(doc.queues.some((x: any) => x.name === q));
    await ok('delete', 'queue', `name=${q}`);
    assert.match(await ok('import', file), /Uploaded definitions/);
    assert.equal((await api(m(), 'GET', `/api/queues/%2F/${enc(q)}`)).json.durable, true);
  });

  it('sets, lists and deletes vhost limits, and moves messages with a shovel parameter', async () => {
    const v = uniqueName('ra-limits');
    await ok('declare', 'vhost', `name=${v}`);
    assert.match(await ok('declare', 'vhost_limit', `vhost=${v}`, 'name=max-queues', 'value=4'), /vhost_limit declared/);
    const limits = JSON.parse(await ok('-f', 'raw_json', 'list', 'vhost_limits'));
    assert.deepEqual(limits.find((l: any) => l.vhost === v), { vhost: v, value: { 'max-queues': 4 } });
    assert.match(await ok('delete', 'vhost_limit', `vhost=${v}`, 'name=max-queues'), /vhost_limit deleted/);
    assert.equal(JSON.parse(await ok('-f', 'raw_json', 'list', 'vhost_limits')).find((l: any) => l.vhost === v), undefined);

    const src = uniqueName('ra-src');
    const dest = uniqueName('ra-dest');
    const ch = await clients.confirmChannel();
    await ch.assertQueue(src);
    await ch.assertQueue(dest);
    for (let i = 0; i < 20; i++) ch.sendToQueue(src, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
    const value = JSON.stringify({ 'src-uri': 'amqp:///%2F', 'src-queue': src, 'src-delete-after': 'queue-length', 'dest-uri': 'amqp:///%2F', 'dest-queue': dest });
    assert.match(await ok('declare', 'parameter', 'component=shovel', `name=move-${src}`, `value=${value}`), /parameter declared/);
    await waitFor(async () => (await ch.checkQueue(dest)).messageCount === 20, 10_000, 'the moved messages');
    assert.equal((await ch.checkQueue(src)).messageCount, 0);
    const refused = await admin('declare', 'parameter', 'component=shovel', 'name=elsewhere', `value=${value.replace('amqp:///%2F', 'amqp://remote.example')}`);
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, /other brokers/);
  });
});
