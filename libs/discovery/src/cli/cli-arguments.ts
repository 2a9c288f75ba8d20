/** A mistake in what the operator typed or asked for: exit 1 with this one line, nothing written. */
export class CliInputError extends Error {
  override readonly name = 'CliInputError';
}

/** The flags every verb takes, and those some take. Each with whether it takes a value. */
const FLAGS = {
  json: false,
  'dry-run': false,
  force: false,
  wait: false,
  help: false,
  etcd: true,
  namespace: true,
  timeout: true,
  user: true,
  cacert: true,
  cert: true,
  key: true,
  for: true,
  reason: true,
  by: true,
  to: true,
  file: true,
} as const;
type Flag = keyof typeof FLAGS;

export interface CliArguments {
  verb: string | undefined;
  positionals: string[];
  flags: Partial<Record<Flag, string | true>>;
}

/** Reads `argv` (without node and the script): the verb, its words, its flags (`--flag value`, `--flag=value`). */
export function parseArguments(argv: readonly string[]): CliArguments {
  const positionals: string[] = [];
  const flags: CliArguments['flags'] = {};
  for (let index = 0; index < argv.length; index++) {
    const word = argv[index];
    if (!word.startsWith('-') || word === '-') {
      positionals.push(word);
      continue;
    }
    const [written, inline] = word.startsWith('--')
      ? splitOnce(word.slice(2))
      : [word === '-f' ? 'file' : word, undefined];
    if (!Object.hasOwn(FLAGS, written)) throw new CliInputError(`unknown option ${word} (see --help)`);
    const flag = written as Flag;
    if (!FLAGS[flag]) {
      if (inline !== undefined) throw new CliInputError(`--${flag} takes no value`);
      flags[flag] = true;
      continue;
    }
    const value = inline ?? argv[++index];
    if (value === undefined || value === '') throw new CliInputError(`--${flag} needs a value`);
    flags[flag] = value;
  }
  const [verb, ...rest] = positionals;
  return { verb, positionals: rest, flags };
}

function splitOnce(text: string): [string, string | undefined] {
  const at = text.indexOf('=');
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

/** A duration written as `90s`, `30m`, `2h` or `1d`, in ms. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text);
  if (match === null)
    throw new CliInputError(`${flag} ${JSON.stringify(text)}: write a duration as 90s, 30m, 2h or 1d`);
  const unit = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** `name=value` words (`v1=90`, `timeoutMs=3000`), in order. */
export function parseAssignments(words: readonly string[], what: string): [string, string][] {
  if (words.length === 0) throw new CliInputError(`give at least one ${what}`);
  return words.map((word) => {
    const [name, value] = splitOnce(word);
    if (name === '' || value === undefined || value === '')
      throw new CliInputError(`${JSON.stringify(word)} is not ${what} (write name=value)`);
    return [name, value];
  });
}

/** The words a verb needs, or a one-line reason naming them. */
export function needWords(args: CliArguments, names: readonly string[]): string[] {
  if (args.positionals.length < names.length)
    throw new CliInputError(`${args.verb} needs ${names.map((name) => `<${name}>`).join(' ')}`);
  if (args.positionals.length > names.length && !['split', 'set'].includes(args.verb ?? ''))
    throw new CliInputError(
      `${args.verb} takes ${names.length} word(s); unexpected: ${args.positionals.slice(names.length).join(' ')}`,
    );
  const words = args.positionals.slice(0, names.length);
  // A service's document is `<namespace>.policy/<service>`: a slash would write some other key (the asks for reports).
  if (names[0] === 'service' && words[0].includes('/'))
    throw new CliInputError(`${args.verb} needs <service>: a service name has no "/" (got "${words[0]}")`);
  return words;
}
