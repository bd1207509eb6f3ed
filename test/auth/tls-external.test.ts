// AMQPS and SASL EXTERNAL with certificates made here by openssl: pika (amqps:// URLParameters, and
// ExternalCredentials with a client certificate whose CN is the user) and amqplib; EXTERNAL is not offered
// on plain TCP; a client certificate from another CA is refused at the TLS handshake.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as amqp from 'amqplib';
import { startBroker, isExternalBroker, type BrokerProcess } from '../helpers/broker-process';
import { freePort } from '../helpers/free-port';
import { PYTHON } from '../helpers/python-script';
import { uniqueName } from '../helpers/amqp-test';
import { ctlOk, ctlRows } from '../ctl/ctl-support';

const SCRIPT = resolve(__dirname, '../../../test/auth/pika_tls.py');
const skip = isExternalBroker() ? 'starts its own broker with TLS' : false;
const dir = mkdtempSync(join(tmpdir(), 'warren-sec-tls-'));
let broker: BrokerProcess | undefined;
let tlsPort = 0;
const user = uniqueName('certuser');
const file = (name: string) => join(dir, name);

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A key and a certificate signed by `ca` (a self-signed CA when ca is undefined). */
function makeCert(name: string, subject: string, ca: string | undefined, ext?: string): void {
  if (ca === undefined) {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', subject]);
    return;
  }
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2'];
  if (ext) {
    writeFileSync(file(`${name}.ext`), ext);
    args.push('-extfile', `${name}.ext`);
  }
  openssl(args);
}

before(async () => {
  if (skip) return;
  makeCert('ca', '/CN=warren-test-ca', undefined);
  makeCert('server', '/CN=localhost', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  makeCert('client', `/C=FR/O=client/CN=${user}`, 'ca');
  makeCert('nobody', '/CN=no-such-user', 'ca');
  makeCert('otherca', '/CN=other-ca', undefined);
  makeCert('stranger', `/CN=${user}`, 'otherca');
  tlsPort = await freePort();
  broker = await startBroker({
    env: {
      WARREN_SSL_PORT: String(tlsPort),
      WARREN_SSL_CERTFILE: file('server.pem'),
      WARREN_SSL_KEYFILE: file('server.key'),
      WARREN_SSL_CACERTFILE: file('ca.pem'),
      WARREN_SSL_VERIFY: 'verify_peer',
      WARREN_SSL_FAIL_IF_NO_PEER_CERT: 'false',
      WARREN_SSL_CERT_LOGIN_FROM: 'common_name',
      WARREN_AUTH_MECHANISMS: 'PLAIN,AMQPLAIN,EXTERNAL',
    },
  });
  await ctlOk(broker.dataDir, ['add_user', user, 'unused-password']);
  await ctlOk(broker.dataDir, ['set_permissions', user, `^${user.replace(/\./g, '\\.')}\\.`, '.*', '.*']);
});
after(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function runPika(config: Record<string, unknown>): Promise<{ code: number | null; output: string }> {
  return new Promise((ok) => {
    const child = spawn(PYTHON, [SCRIPT], { env: { ...process.env, WARREN_TLS: JSON.stringify(config), PYTHONDONTWRITEBYTECODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
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

const tlsOpts = (cert?: string) => ({
  ca: [readFileSync(file('ca.pem'))],
  servername: 'localhost',
  ...(cert ? { cert: readFileSync(file(`${cert}.pem`)), key: readFileSync(file(`${cert}.key`)) } : {}),
});

describe('AMQPS and EXTERNAL', { skip }, () => {
  it('pika: amqps:// URLParameters and ExternalCredentials (user from the certificate CN)', async () => {
    const { code, output } = await runPika({
      port: tlsPort,
      ca: file('ca.pem'),
      cert: file('client.pem'),
      key: file('client.key'),
      badCert: file('nobody.pem'),
      badKey: file('nobody.key'),
      user,
    });
    assert.equal(code, 0, output);
    assert.match(output, /^ok$/m, output);
  });

  it('amqplib: EXTERNAL over TLS logs in as the CN; PLAIN works too; status lists the listener', async () => {
    const conn = await amqp.connect({ protocol: 'amqps', hostname: '127.0.0.1', port: tlsPort }, { ...tlsOpts('client'), credentials: amqp.credentials.external() });
    const rows = await ctlRows(broker!.dataDir, ['list_connections', 'user', 'peer_port']);
    assert.ok(rows.some((r) => r.user === user), JSON.stringify(rows));
    await conn.close();
    const plain = await amqp.connect(`amqps://guest:guest@127.0.0.1:${tlsPort}`, tlsOpts());
    await plain.close();
    const status = JSON.parse(await ctlOk(broker!.dataDir, ['status', '--formatter', 'json'])) as { listeners: { protocol: string; port: number }[] };
    assert.ok(status.listeners.some((l) => l.protocol === 'amqp/ssl' && l.port === tlsPort));
  });

  it('EXTERNAL is not offered on plain TCP; a certificate from another CA fails the handshake', async () => {
    await assert.rejects(amqp.connect(`amqp://127.0.0.1:${broker!.port}`, { credentials: amqp.credentials.external() }));
    await assert.rejects(amqp.connect({ protocol: 'amqps', hostname: '127.0.0.1', port: tlsPort }, { ...tlsOpts('stranger'), credentials: amqp.credentials.external() }));
    // The node is fine after both.
    await (await amqp.connect(`amqps://guest:guest@127.0.0.1:${tlsPort}`, tlsOpts())).close();
  });
});
