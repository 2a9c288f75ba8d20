/** What a verb prints: lines for people, or one JSON document with `--json` (for scripts). */
export class Output {
  private readonly lines: string[] = [];

  constructor(readonly json: boolean) {}

  line(text = ''): void {
    this.lines.push(text);
  }

  /** Columns aligned under their headings. */
  table(headings: readonly string[], rows: readonly (readonly string[])[]): void {
    const widths = headings.map((heading, column) =>
      Math.max(heading.length, ...rows.map((row) => (row[column] ?? '').length)),
    );
    const format = (cells: readonly string[]) =>
      cells
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd();
    this.line(format(headings));
    for (const row of rows) this.line(format(row));
  }

  /** Prints what was gathered: `document` with `--json`, the lines otherwise. */
  print(document: unknown): void {
    process.stdout.write(this.json ? `${JSON.stringify(document, null, 2)}\n` : `${this.lines.join('\n')}\n`);
  }
}

export function percent(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}
