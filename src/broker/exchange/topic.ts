import type { Binding } from '../binding';
import type { Message } from '../message';
import type { ExchangeRouter } from './router';

interface TrieNode {
  children: Map<string, TrieNode>;
  bindings: Binding[];
}

const newNode = (): TrieNode => ({ children: new Map(), bindings: [] });
const CACHE_MAX_ENTRIES = 4096;

/**
 * Topic routing through a trie of binding-key words, where `*` matches one word and `#`
 * zero or more. Results are cached per routing key until the bindings change.
 */
export class TopicRouter implements ExchangeRouter {
  private readonly root = newNode();
  private readonly cache = new Map<string, Binding[]>();

  add(binding: Binding): void {
    let node = this.root;
    for (const word of words(binding.routingKey)) {
      let next = node.children.get(word);
      if (!next) node.children.set(word, (next = newNode()));
      node = next;
    }
    node.bindings.push(binding);
    this.cache.clear();
  }

  remove(binding: Binding): void {
    const path: TrieNode[] = [this.root];
    const keyWords = words(binding.routingKey);
    for (const word of keyWords) {
      const next = path[path.length - 1].children.get(word);
      if (!next) return;
      path.push(next);
    }
    const leaf = path[path.length - 1];
    const i = leaf.bindings.indexOf(binding);
    if (i >= 0) leaf.bindings.splice(i, 1);
    for (let depth = keyWords.length; depth > 0; depth--) {
      const node = path[depth];
      if (node.bindings.length > 0 || node.children.size > 0) break;
      path[depth - 1].children.delete(keyWords[depth - 1]);
    }
    this.cache.clear();
  }

  route(routingKey: string, _message: Message, out: Binding[]): void {
    let matched = this.cache.get(routingKey);
    if (!matched) {
      const found = new Set<Binding>();
      this.match(this.root, words(routingKey), 0, found);
      matched = [...found];
      if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
      this.cache.set(routingKey, matched);
    }
    for (let i = 0; i < matched.length; i++) out.push(matched[i]);
  }

  private match(node: TrieNode, words: string[], index: number, found: Set<Binding>): void {
    const hash = node.children.get('#');
    if (hash) {
      // `#` may swallow zero or more of the remaining words.
      for (let skip = index; skip <= words.length; skip++) this.match(hash, words, skip, found);
    }
    if (index === words.length) {
      for (const b of node.bindings) found.add(b);
      return;
    }
    const exact = node.children.get(words[index]);
    if (exact) this.match(exact, words, index + 1, found);
    const star = node.children.get('*');
    if (star) this.match(star, words, index + 1, found);
  }
}

/** The words of a routing or binding key; the empty key has none. */
function words(key: string): string[] {
  return key === '' ? [] : key.split('.');
}
