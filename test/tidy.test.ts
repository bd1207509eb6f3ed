import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

// The layers of DESIGN.md, top to bottom; a file may import only its own layer or lower ones.
const LAYERS = ['src/cli', 'cluster', 'src/mgmt', 'src/web', 'src/stomp', 'src/mqtt', 'src/adapter', 'src/amqp', 'src/auth', 'src/broker', 'src/store', 'src/protocol', 'src/config', 'src/util', 'src/log'];
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

/** Files of `dirs` and the files they import (relative imports resolved to .ts or index.ts). */
function importGraph(dirs: string[]): Map<string, string[]> {
  const files = new Set(dirs.flatMap((d) => sourceFiles(d)));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const deps: string[] = [];
    for (const match of text.matchAll(/(?:from|import)\s*['"](\.[^'"]+)['"]/g)) {
      const target = relative(root, resolve(join(root, dirname(file)), match[1]));
      if (files.has(`${target}.ts`)) deps.push(`${target}.ts`);
      else if (files.has(`${target}/index.ts`)) deps.push(`${target}/index.ts`);
    }
    graph.set(file, deps);
  }
  return graph;
}

/** Strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('no import cycles (type-only ones included) anywhere in src/ and cluster/', () => {
  assert.deepEqual(cycles(importGraph(['src', 'cluster'])), []);
});

test('no import cycles in the other protocols (src/mqtt, src/stomp, src/web), and none imports src/amqp', () => {
  assert.deepEqual(cycles(importGraph(['src/mqtt', 'src/stomp', 'src/web', 'src/adapter'])), []);
  const offenders = [...sourceFiles('src/mqtt'), ...sourceFiles('src/stomp'), ...sourceFiles('src/web'), ...sourceFiles('src/adapter')].filter((f) => /from ['"][^'"]*\/amqp\//.test(readFileSync(join(root, f), 'utf8')));
  assert.deepEqual(offenders, []);
});
