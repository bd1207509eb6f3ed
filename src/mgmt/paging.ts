/**
 * RabbitMQ's list options: `name` filter (substring, or regex with use_regex=true), sort on
 * any field path (`sort=message_stats.publish`, `sort_reverse=true`), pagination (`page`,
 * `page_size`, at most 500) and `columns` (keep only the given field paths).
 */
import { ApiError, badRequest } from './http-errors';
import type { Row } from './broker-view';

export type Query = Record<string, string | undefined>;

const MAX_PAGE_SIZE = 500;

function pathValue(row: Row, path: string): unknown {
  let v: unknown = row;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Row)[part];
  }
  return v;
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** Sorts by `sort` (or the default keys), then reverses on sort_reverse=true. */
export function sortRows(rows: Row[], q: Query, defaultKeys: string[]): Row[] {
  const keys = q.sort ? [q.sort] : defaultKeys;
  const sorted = rows.slice().sort((a, b) => {
    for (const k of keys) {
      const c = compare(pathValue(a, k), pathValue(b, k));
      if (c !== 0) return c;
    }
    return 0;
  });
  if (q.sort_reverse === 'true') sorted.reverse();
  return sorted;
}

function filterByName(rows: Row[], q: Query): Row[] {
  const filter = q.name;
  if (filter === undefined || filter === '') return rows;
  if (q.use_regex === 'true') {
    let re: RegExp;
    try {
      re = new RegExp(filter, 'i');
    } catch {
      throw badRequest(`invalid regular expression '${filter}'`);
    }
    return rows.filter((r) => re.test(String(r.name ?? '')));
  }
  const needle = filter.toLowerCase();
  return rows.filter((r) => String(r.name ?? '').toLowerCase().includes(needle));
}

/** Keeps only the requested field paths of each row. */
export function selectColumns(rows: Row[], columns: string | undefined): Row[] {
  if (!columns) return rows;
  const paths = columns.split(',').map((c) => c.trim()).filter((c) => c !== '').map((c) => c.split('.'));
  return rows.map((row) => {
    const out: Row = {};
    for (const path of paths) {
      let src: unknown = row;
      let dst = out;
      for (let i = 0; i < path.length; i++) {
        if (src === null || typeof src !== 'object' || !(path[i] in (src as Row))) break;
        src = (src as Row)[path[i]];
        if (i === path.length - 1) dst[path[i]] = src;
        else dst = (dst[path[i]] ??= {}) as Row;
      }
    }
    return out;
  });
}

function intParam(q: Query, key: string, fallback: number): number {
  const raw = q[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw badRequest(`${key} must be a positive integer, got '${raw}'`);
  return n;
}

/** A list answer: sorted and column-filtered rows, or the paged object when a page is asked. */
export function listAnswer(rows: Row[], q: Query, defaultKeys: string[] = ['vhost', 'name']): Row[] | Row {
  const paged = q.page !== undefined || q.pagination === 'true';
  if (!paged) return selectColumns(sortRows(filterByName(rows, q), q, defaultKeys), q.columns);
  const page = intParam(q, 'page', 1);
  const pageSize = intParam(q, 'page_size', 100);
  if (pageSize > MAX_PAGE_SIZE) throw badRequest(`page_size must be at most ${MAX_PAGE_SIZE}, got ${pageSize}`);
  const filtered = filterByName(rows, q);
  const pageCount = Math.ceil(filtered.length / pageSize);
  if (page > Math.max(pageCount, 1)) {
    throw new ApiError(400, 'page_out_of_range', `Page out of range, page: ${page} page size: ${pageSize}, len: ${filtered.length}`);
  }
  const items = selectColumns(sortRows(filtered, q, defaultKeys).slice((page - 1) * pageSize, page * pageSize), q.columns);
  return {
    filtered_count: filtered.length,
    item_count: items.length,
    items,
    page,
    page_count: pageCount,
    page_size: pageSize,
    total_count: rows.length,
  };
}
