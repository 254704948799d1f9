// Structured logs through pino: one JSON object per line on stdout by default,
// or one human-readable line per entry with SAMSA_LOG_FORMAT=text. The level
// comes from SAMSA_LOG_LEVEL (trace, debug, info, warn, error, fatal, silent;
// default info). Writes are synchronous so nothing is lost on process.exit()
// and lines from different sources keep their order.
//
// JSON lines carry pino's fields (`level` as a number: 20 debug, 30 info,
// 40 warn, 50 error; `time` as ISO 8601; `pid`; `msg`) plus the structured
// fields of the entry (peer, topic, partitions, ...).
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogFields, LogLogger } from '../storage/log.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  /** Default: SAMSA_LOG_LEVEL, else info. */
  level?: string;
  /** Default: SAMSA_LOG_FORMAT, else json. */
  format?: string;
  /** File descriptor to write to (default 1, stdout). */
  fd?: number;
  /** A destination instead of fd (tests collect lines with it). */
  stream?: DestinationStream;
}

/** A LogLogger with every level, backed by pino. */
export interface SamsaLogger extends Required<LogLogger> {
  readonly pino: Logger;
  child(fields: LogFields): SamsaLogger;
}

export class LoggerConfigError extends Error {}

export function createLogger(options: LoggerOptions = {}): SamsaLogger {
  const level = options.level ?? (process.env.SAMSA_LOG_LEVEL || 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new LoggerConfigError(`SAMSA_LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  }
  const format = options.format ?? (process.env.SAMSA_LOG_FORMAT || 'json');
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new LoggerConfigError(`SAMSA_LOG_FORMAT: must be one of ${LOG_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  }
  let destination = options.stream ?? pino.destination({ dest: options.fd ?? 1, sync: true });
  if (format === 'text') destination = textDestination(destination);
  const logger = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  return adapt(logger);
}

/** Adapts a pino logger to the (message, fields) call shape the broker uses. */
export function adapt(logger: Logger): SamsaLogger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, fields?: LogFields): void => {
      if (fields === undefined) logger[level](message);
      else logger[level](fields, message);
    };
  return {
    pino: logger,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => adapt(logger.child(fields)),
  };
}

const LEVEL_LABELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
// pino's own fields, printed in the line's fixed part rather than as key=value.
const FIXED_FIELDS = new Set(['level', 'time', 'pid', 'msg']);

/** `2026-01-02T03:04:05.678Z INFO  message key=value ...` from one pino JSON line. */
export function formatTextLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : json + '\n';
  }
  const label = (LEVEL_LABELS[entry.level as number] ?? String(entry.level)).padEnd(5);
  const message = String(entry.msg ?? '');
  let line = `${String(entry.time)} ${label} ${message}`;
  for (const [key, value] of Object.entries(entry)) {
    if (FIXED_FIELDS.has(key) || value === null || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(',') : typeof value === 'object' ? JSON.stringify(value) : String(value);
    // Fields the message already spells out would only repeat it on a terminal.
    if (text.length > 0 && message.includes(text)) continue;
    line += ` ${key}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`;
  }
  return line + '\n';
}

function textDestination(target: DestinationStream): DestinationStream {
  return { write: (json: string) => target.write(formatTextLine(json)) };
}
