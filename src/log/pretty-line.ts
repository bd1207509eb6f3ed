/**
 * Readable log lines for a terminal, from pino's JSON lines: time, level, where (module,
 * connection, queue...), message, the other fields as key=value, and an error's stack below.
 * A few lines of code instead of pino-pretty and its dependencies: the broker logs little
 * (constant messages, data in fields, nothing per message at info level).
 */

const LEVELS: Record<number, [name: string, color: string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
/** Fields every line carries or that are shown in their own place. */
const OMITTED = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'err', 'module']);

/** Formats one pino JSON line; anything that is not a JSON object is returned as it is. */
export function prettyLine(jsonLine: string, colors: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine.endsWith('\n') ? jsonLine : `${jsonLine}\n`;
  }
  if (entry === null || typeof entry !== 'object') return `${jsonLine.trimEnd()}\n`;
  const paint = (color: string, text: string) => (colors ? `${color}${text}${RESET}` : text);
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const [levelName, levelColor] = LEVELS[entry.level as number] ?? [String(entry.level).padEnd(5), ''];
  let line = `${paint(DIM, time)} ${paint(levelColor, levelName)}`;
  if (typeof entry.module === 'string') line += ` ${paint(DIM, `[${entry.module}]`)}`;
  line += ` ${String(entry.msg ?? '')}`;
  for (const [key, value] of Object.entries(entry)) {
    if (OMITTED.has(key) || value === undefined) continue;
    line += ` ${paint(DIM, `${key}=`)}${formatValue(value)}`;
  }
  const err = entry.err as { message?: unknown; stack?: unknown } | undefined;
  if (err && typeof err === 'object') {
    const stack = typeof err.stack === 'string' ? err.stack : String(err.message ?? JSON.stringify(err));
    line += `\n${stack.replace(/^/gm, '    ')}`;
  }
  return `${line}\n`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value);
}

/** A pino destination writing readable lines to a terminal stream. */
export function prettyDestination(out: NodeJS.WriteStream): { write(chunk: string): void } {
  const colors = out.hasColors?.() ?? false;
  return {
    write(chunk: string): void {
      out.write(prettyLine(chunk, colors));
    },
  };
}
