import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLUSTER_SECRET_FILE, loadClusterSecret } from '../../cluster/mesh/cluster-secret';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-secret-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('WARREN_CLUSTER_SECRET wins and creates no file', (t) => {
  const dir = tempDir(t);
  const s = loadClusterSecret({ dataDir: dir, env: { WARREN_CLUSTER_SECRET: ' cookie\n' } });
  assert.equal(s.secret.toString(), 'cookie');
  assert.equal(s.origin, 'env');
  assert.throws(() => statSync(join(dir, CLUSTER_SECRET_FILE)));
});

test('the file is created once, random, mode 0600, and read back unchanged', (t) => {
  const dir = join(tempDir(t), 'nested', 'data');
  const first = loadClusterSecret({ dataDir: dir, env: {} });
  assert.equal(first.created, true);
  assert.ok(first.secret.length >= 32);
  const path = join(dir, CLUSTER_SECRET_FILE);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const second = loadClusterSecret({ dataDir: dir, env: {} });
  assert.equal(second.created, false);
  assert.ok(second.secret.equals(first.secret));
  assert.equal(readFileSync(path, 'utf8').trim(), first.secret.toString());
  const other = loadClusterSecret({ dataDir: tempDir(t), env: {} });
  assert.ok(!other.secret.equals(first.secret));
});

test('a secret file readable by others, or empty, is refused', (t) => {
  const dir = tempDir(t);
  const path = join(dir, CLUSTER_SECRET_FILE);
  writeFileSync(path, 'cookie', { mode: 0o600 });
  chmodSync(path, 0o644);
  assert.throws(() => loadClusterSecret({ dataDir: dir, env: {} }), /owner only/);
  writeFileSync(path, '\n');
  chmodSync(path, 0o600);
  assert.throws(() => loadClusterSecret({ dataDir: dir, env: {} }), /empty/);
});
