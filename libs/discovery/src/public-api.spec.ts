import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The public API and the package README (the user's guide npm shows) agree name by name: every
 * export of each entry point is in the README's "API at a glance" table for it, and nothing else is;
 * the README's member table of `DiscoveryClient` lists exactly its public members. Read from the
 * sources (syntax only: the entry points are lists of re-exports).
 */
const src = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(src, '../README.md'), 'utf8');

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(join(src, file), 'utf8'), ts.ScriptTarget.Latest, true);
}

/** The names an entry point exports: it only re-exports (`export { … } from …`, `export type { … } from …`). */
function exportsOf(file: string): string[] {
  return parse(file).statements.flatMap((statement) => {
    if (!ts.isExportDeclaration(statement) || !statement.exportClause || !ts.isNamedExports(statement.exportClause))
      return [];
    return statement.exportClause.elements.map((element) => element.name.text);
  });
}

/** The public members of a class: what is not private, protected or the constructor. */
function publicMembers(file: string, className: string): string[] {
  const declaration = parse(file).statements.find(
    (statement): statement is ts.ClassDeclaration =>
      ts.isClassDeclaration(statement) && statement.name?.text === className,
  );
  if (!declaration) throw new Error(`no class ${className} in ${file}`);
  return declaration.members.flatMap((member) => {
    if (ts.isConstructorDeclaration(member) || !member.name || !ts.isIdentifier(member.name)) return [];
    const hidden = ts.getCombinedModifierFlags(member) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected);
    return hidden ? [] : [member.name.text];
  });
}

/**
 * The names in the first column of the first README table after `heading` (looked for from `from`
 * on): each `name` or `name(…)` in backquotes.
 */
function tableNames(heading: string, from = 0): string[] {
  const start = readme.indexOf(heading, from);
  if (start < 0) throw new Error(`the README has no "${heading}"`);
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const end = lines.findIndex((line, index) => index > first && !line.startsWith('|'));
  const rows = lines.slice(first + 2, end); // past the header and its separator
  return rows.flatMap((row) => [...row.split(' | ')[0].matchAll(/`([A-Za-z_$][\w$]*)/g)].map((match) => match[1]));
}

const sorted = (names: readonly string[]) => [...new Set(names)].sort();

describe('the public API and the README', () => {
  it.each([
    ['index.ts', '`nestjs-etcd-discovery`:'],
    ['dashboard/index.ts', '`nestjs-etcd-discovery/dashboard`:'],
    ['codec/index.ts', '`nestjs-etcd-discovery/codec`:'],
    ['testing/index.ts', '`nestjs-etcd-discovery/testing`:'],
    ['terminus/index.ts', '`nestjs-etcd-discovery/terminus`:'],
  ])('%s exports what the README lists under %s, and only that', (entryPoint, heading) => {
    const exported = exportsOf(entryPoint);
    expect(exported.length).toBeGreaterThan(1);
    expect(sorted(tableNames(heading, readme.indexOf('## API at a glance')))).toEqual(sorted(exported));
  });

  it('lists every public member of DiscoveryClient, and only those', () => {
    const members = publicMembers('discovery/discovery-client.ts', 'DiscoveryClient');
    expect(members).toContain('pick');
    expect(sorted(tableNames('| member | what it gives |'))).toEqual(sorted(members));
  });
});
