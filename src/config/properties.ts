// Java .properties parsing, as java.util.Properties.load reads server.properties:
// keys end at the first unescaped '=', ':' or whitespace; '#' and '!' start
// comment lines; a line ending in an odd number of backslashes continues on the
// next (whose leading whitespace is dropped); \t \n \r \f \\ and \uXXXX escapes;
// any other escaped character stands for itself. Later keys win.

export class PropertiesError extends Error {
  constructor(
    readonly lineNumber: number,
    message: string,
  ) {
    super(`line ${lineNumber}: ${message}`);
    this.name = 'PropertiesError';
  }
}

// server.properties files are small; a bound keeps a wrong path (a log segment) from eating memory.
export const PROPERTIES_BYTES_MAX = 16 * 1024 * 1024;

const WHITESPACE = new Set([' ', '\t', '\f']);

/** Parses properties text into an ordered map of key -> value. */
export function parseProperties(text: string): Map<string, string> {
  if (text.length > PROPERTIES_BYTES_MAX) throw new PropertiesError(0, `more than ${PROPERTIES_BYTES_MAX} characters`);
  const result = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const firstLine = i + 1;
    let line = stripLeading(lines[i]);
    if (line === '' || line[0] === '#' || line[0] === '!') continue;
    // Join continuation lines.
    while (endsWithContinuation(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + stripLeading(lines[++i]);
    }
    if (endsWithContinuation(line)) line = line.slice(0, -1);
    const { key, rest } = splitKey(line);
    result.set(unescape(key, firstLine), unescape(rest, firstLine));
  }
  return result;
}

function stripLeading(s: string): string {
  let i = 0;
  while (i < s.length && WHITESPACE.has(s[i])) i++;
  return s.slice(i);
}

function endsWithContinuation(line: string): boolean {
  let backslashes = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 1;
}

function splitKey(line: string): { key: string; rest: string } {
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '=' || c === ':' || WHITESPACE.has(c)) break;
    i++;
  }
  const key = line.slice(0, Math.min(i, line.length));
  let j = i;
  while (j < line.length && WHITESPACE.has(line[j])) j++;
  // One '=' or ':' may follow the key (after whitespace), then more whitespace.
  if (j < line.length && (line[j] === '=' || line[j] === ':')) {
    j++;
    while (j < line.length && WHITESPACE.has(line[j])) j++;
  }
  return { key, rest: line.slice(j) };
}

function unescape(s: string, lineNumber: number): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = s[++i];
    if (next === undefined) break;
    if (next === 't') out += '\t';
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else if (next === 'f') out += '\f';
    else if (next === 'u') {
      const hex = s.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new PropertiesError(lineNumber, `malformed \\uxxxx escape: \\u${hex}`);
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else out += next;
  }
  return out;
}

/** Renders properties so that parseProperties reads back the same map (keys sorted for stable files). */
export function formatProperties(entries: Iterable<[string, string]>): string {
  const escape = (s: string, isKey: boolean) =>
    s.replace(/[\\\t\n\r\f=:#! ]/g, (c, offset: number) => {
      if (c === ' ' && !isKey && offset > 0) return ' ';
      return { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\f': '\\f' }[c] ?? `\\${c}`;
    });
  const lines: string[] = [];
  for (const [k, v] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) lines.push(`${escape(k, true)}=${escape(v, false)}`);
  return lines.join('\n') + '\n';
}
