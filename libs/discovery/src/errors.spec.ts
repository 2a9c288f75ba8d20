import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import * as errors from './errors.js';
import { DiscoveryError } from './errors.js';

/** The error classes errors.ts declares, read from its source: a class added there is checked too. */
function declaredClasses(): string[] {
  const file = join(dirname(fileURLToPath(import.meta.url)), 'errors.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  return source.statements.flatMap((statement) =>
    ts.isClassDeclaration(statement) && statement.name ? [statement.name.text] : [],
  );
}

/** One of each error, made as the library makes it. */
function oneOf(name: string, cause: unknown): Error {
  const made = errors as unknown as Record<string, new (...args: unknown[]) => Error>;
  if (name === 'NoEndpointAvailableError') return new made[name]('log-service', 'none', undefined, { cause });
  if (name === 'CallTimeoutError') return new made[name]('log-service', ['10.0.0.5:3000'], 'late', { cause });
  return new made[name]('what went wrong', { cause });
}

describe('one error family', () => {
  const classes = declaredClasses().filter((name) => name !== 'DiscoveryError');

  it('declares the eight errors the README lists', () => {
    expect(classes).toHaveLength(8);
  });

  it.each(classes)(
    '%s extends DiscoveryError, with its own name, a stable code, and the cause it was given',
    (name) => {
      const cause = new Error('etcd said no');
      const error = oneOf(name, cause);
      expect(error).toBeInstanceOf(DiscoveryError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(name);
      expect((error as DiscoveryError).code).toMatch(/^[A-Z_]+$/);
      expect(error.cause).toBe(cause);
      expect(error.stack).toContain(name);
    },
  );

  it('gives each error a code of its own', () => {
    const codes = classes.map((name) => (oneOf(name, undefined) as DiscoveryError).code);
    expect(new Set(codes).size).toBe(classes.length);
  });

  it('has no cause where none was given', () => {
    expect('cause' in new errors.DiscoveryOptionsError('bad')).toBe(false);
  });
});
