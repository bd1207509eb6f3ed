import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

// The layers of DESIGN.md, top to bottom; a file may import only its own layer or lower ones.
const LAYERS = ['src/cli', 'cluster', 'src/mgmt', 'src/amqp', 'src/auth', 'src/broker', 'src/store', 'src/protocol', 'src/config', 'src/util', 'src/log'];
const root = resolve(__dirname, '../..');

function layerOf(path: string): number {
  return LAYERS.findIndex((l) => path === l || path.startsWith(l + '/'));
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) out.push(...sourceFiles(rel));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

test('imports point down the layers of DESIGN.md; src/ never imports cluster/ except src/cli', () => {
  const violations: string[] = [];
  for (const file of [...sourceFiles('src'), ...sourceFiles('cluster')]) {
    const from = layerOf(file);
    const text = readFileSync(join(root, file), 'utf8');
    for (const match of text.matchAll(/(?:from|import|require\()\s*['"](\.[^'"]+)['"]/g)) {
      const target = relative(root, resolve(join(root, dirname(file)), match[1]));
      const to = layerOf(target);
      if (to === -1) continue;
      if (to < from) violations.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('cluster/raft is a general library: it imports nothing of the broker', () => {
  const offenders = sourceFiles('cluster').filter((f) => f.startsWith('cluster/raft/')).filter((f) => /from ['"][^'"]*src\/(broker|amqp)/.test(readFileSync(join(root, f), 'utf8')));
  assert.deepEqual(offenders, []);
});
