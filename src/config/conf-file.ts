/**
 * RabbitMQ's `rabbitmq.conf` format (cuttlefish's sysctl style): one `key = value` per line,
 * `#` starts a comment (outside single quotes), blanks around `=` and at line ends are ignored,
 * a value in single quotes is taken as written, `$(VAR)` is replaced by the environment
 * variable before parsing. Keys are dot paths; list items use any trailing segment.
 */
export interface ConfEntry {
  key: string;
  value: string;
  line: number;
}

export class ConfFileError extends Error {}

export function parseConfFile(text: string, env: NodeJS.ProcessEnv, source: string): ConfEntry[] {
  const entries: ConfEntry[] = [];
  const lines = text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_m, name: string) => env[name] ?? '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = stripComment(raw).trim();
    if (line === '') return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ConfFileError(`${source}:${i + 1}: expected 'key = value', got '${raw.trim()}'`);
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (!/^[A-Za-z0-9_.\-$]+$/.test(key)) throw new ConfFileError(`${source}:${i + 1}: invalid key '${key}'`);
    if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1);
    entries.push({ key, value, line: i + 1 });
  });
  return entries;
}

/** The line without its comment: `#` outside a single-quoted value. */
function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === "'") quoted = !quoted;
    else if (line[i] === '#' && !quoted) return line.slice(0, i);
  }
  return line;
}
