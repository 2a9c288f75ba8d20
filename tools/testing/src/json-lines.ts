import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

/**
 * Fixture apps, bench processes and the tests that run them talk in JSON lines: one object per
 * stdout line. Nest's own log lines share stdout; they never start with "{".
 */
export function printJsonLine(fields: object): void {
  process.stdout.write(`${JSON.stringify(fields)}\n`);
}

/** `{ event, ...fields }` as a JSON line: what fixture apps report. */
export function reportEvent(event: string, fields: object = {}): void {
  printJsonLine({ event, ...fields });
}

/** Calls `onObject` for every JSON line of `input`, and `onOther` for every other line. */
export function readJsonLines(
  input: Readable,
  onObject: (object: Record<string, unknown>) => void,
  onOther: (line: string) => void = () => undefined,
): void {
  createInterface({ input }).on('line', (line) => {
    if (line.startsWith('{')) onObject(JSON.parse(line) as Record<string, unknown>);
    else onOther(line);
  });
}
