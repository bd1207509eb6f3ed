/** Mutual TLS between mesh nodes, with certificates made by openssl at test time. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { MeshTlsOptions } from '../../cluster/mesh/grpc-service';
import { meshEvent, startMesh } from './helpers/child-node';

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A CA and one node certificate it signed (SAN 127.0.0.1 and localhost, client and server use). */
function makePki(dir: string, tag: string): MeshTlsOptions {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', `${tag}-ca.key`, '-out', `${tag}-ca.pem`, '-days', '1', '-subj', `/CN=warren-test-ca-${tag}`);
  run('req', ...ec, '-keyout', `${tag}-node.key`, '-out', `${tag}-node.csr`, '-subj', '/CN=localhost');
  writeFileSync(join(dir, `${tag}-ext.cnf`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  run('x509', '-req', '-in', `${tag}-node.csr`, '-CA', `${tag}-ca.pem`, '-CAkey', `${tag}-ca.key`, '-CAcreateserial', '-out', `${tag}-node.pem`, '-days', '1', '-extfile', `${tag}-ext.cnf`);
  const read = (f: string) => readFileSync(join(dir, f));
  return { ca: read(`${tag}-ca.pem`), cert: read(`${tag}-node.pem`), key: read(`${tag}-node.key`), serverName: 'localhost' };
}

test('nodes with certificates from the cluster CA link up over mutual TLS; others do not', { skip: !haveOpenssl() && 'openssl not found' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-mesh-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = makePki(dir, 'good');
  const rogue = makePki(dir, 'rogue');

  const a = await startMesh('warren@a', { tls: good });
  const b = await startMesh('warren@b', { tls: good });
  const c = await startMesh('warren@c', { tls: rogue });
  const d = await startMesh('warren@d'); // no TLS at all
  t.after(() => Promise.all([a, b, c, d].map((m) => m.close())));

  b.handle('echo', (_f, p) => p);
  a.connect(b.nodeName, { host: '127.0.0.1', port: b.port });
  await Promise.all([meshEvent(a, 'nodeup', b.nodeName, 5000), meshEvent(b, 'nodeup', a.nodeName, 5000)]);
  assert.equal((await a.request(b.nodeName, 'echo', Buffer.from('over tls'), 2000)).toString(), 'over tls');

  let ups = 0;
  for (const m of [c, d]) m.on('nodeup', () => ups++);
  a.connect(c.nodeName, { host: '127.0.0.1', port: c.port });
  a.connect(d.nodeName, { host: '127.0.0.1', port: d.port });
  c.connect(b.nodeName, { host: '127.0.0.1', port: b.port });
  d.connect(b.nodeName, { host: '127.0.0.1', port: b.port });
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(ups, 0);
  assert.equal(a.isUp(c.nodeName), false);
  assert.equal(a.isUp(d.nodeName), false);
  assert.deepEqual(b.peers().map((p) => p.name), ['warren@a']);
});
