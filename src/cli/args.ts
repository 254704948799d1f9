// Command-line options the way Kafka's tools take them (jopt-simple):
// `--name value` or `--name=value`, flags without values, repeatable options
// (`--config a=1 --config b=2`), and an optional-argument form for options
// such as --compression-codec whose value may be omitted.

export interface OptionSpec {
  name: string;
  /** 'flag': no value; 'value': one value; 'optional': a value unless the next word is an option. */
  kind: 'flag' | 'value' | 'optional';
  /** Value used for an 'optional' option given without one. */
  implied?: string;
  description: string;
  /** Shown after the name in help, e.g. '<topic>'. */
  argName?: string;
}

export class UsageError extends Error {}

export class ParsedArgs {
  constructor(private readonly values: Map<string, string[]>) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** The last value given for `name`, or undefined. */
  get(name: string): string | undefined {
    const all = this.values.get(name);
    return all === undefined ? undefined : all[all.length - 1];
  }

  all(name: string): string[] {
    return this.values.get(name) ?? [];
  }

  /** An integer option; throws a UsageError naming the option for anything else. */
  int(name: string): number | undefined {
    const raw = this.get(name);
    if (raw === undefined) return undefined;
    if (!/^[+-]?\d+$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) {
      throw new UsageError(`Cannot parse argument '${raw}' of option ${name}`);
    }
    return Number(raw);
  }
}

export function parseArgs(argv: string[], specs: readonly OptionSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, string[]>();
  const push = (name: string, value: string) => {
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (!word.startsWith('--')) throw new UsageError(`Found non-option argument '${word}'`);
    const eq = word.indexOf('=');
    const name = (eq >= 0 ? word.slice(2, eq) : word.slice(2)).trim();
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`${name} is not a recognized option`);
    if (spec.kind === 'flag') {
      if (eq >= 0) throw new UsageError(`Option ${name} does not take an argument`);
      push(name, '');
    } else if (eq >= 0) {
      push(name, word.slice(eq + 1));
    } else if (spec.kind === 'optional') {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) push(name, argv[++i]);
      else push(name, spec.implied ?? '');
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`Option ${name} requires an argument`);
      push(name, argv[++i]);
    }
  }
  return new ParsedArgs(values);
}

/** `k=v` pairs of repeated --property style options; a word without '=' maps to ''. */
export function keyValues(list: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of list) {
    const eq = pair.indexOf('=');
    if (eq < 0) out.set(pair.trim(), '');
    else out.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
  }
  return out;
}

/** Help text listing each option, as Kafka's tools print it. */
export function usage(summary: string, specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const arg = s.kind === 'flag' ? '' : s.kind === 'optional' ? ` [${s.argName ?? '<value>'}]` : ` ${s.argName ?? '<value>'}`;
    return [`--${s.name}${arg}`, s.description] as const;
  });
  const width = Math.min(40, Math.max(...rows.map(([left]) => left.length)) + 2);
  // Multi-line descriptions (Kafka's use System.lineSeparator()) continue under the description column.
  const lines = rows.map(([left, text]) => {
    const right = text.replaceAll('\n', `\n${' '.repeat(width)}`);
    return left.length + 2 > width ? `${left}\n${' '.repeat(width)}${right}` : left.padEnd(width) + right;
  });
  return `${summary}\n\nOption${' '.repeat(width - 6)}Description\n${'-'.repeat(6)}${' '.repeat(width - 6)}${'-'.repeat(11)}\n${lines.join('\n')}`;
}

/**
 * Parses a command line that needs only its options and --bootstrap-server:
 * prints the usage for --help (exit 0) or after a usage error (exit 1), and
 * returns that exit code instead of the arguments.
 */
export function parseBootstrapCommand(argv: string[], specs: readonly OptionSpec[], summary: string, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): ParsedArgs | number {
  try {
    const args = parseArgs(argv, specs);
    if (args.has('help')) {
      io.stdout.write(usage(summary, specs) + '\n');
      return 0;
    }
    if (!args.has('bootstrap-server')) throw new UsageError('Missing required argument "[bootstrap-server]"');
    return args;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`${err.message}\n${usage(summary, specs)}\n`);
    return 1;
  }
}
