import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shape of the library, checked on every run: files small enough to read at once, and no import
 * cycle (a file that needs itself, through others, cannot be understood — or changed — alone).
 * Type-only imports count: they tie files together for a reader as much as any.
 */
const root = dirname(fileURLToPath(import.meta.url));

function libraryFiles(dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return libraryFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** Each file's relative imports (and re-exports), as paths of .ts files. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const specifier = /(?:import|export)\s[^'";]*?from\s+'(\.{1,2}\/[^']+)\.js'/g;
  for (const file of libraryFiles()) {
    const text = readFileSync(file, 'utf8');
    graph.set(
      file,
      [...text.matchAll(specifier)].map((match) => normalize(join(dirname(file), `${match[1]}.ts`))),
    );
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each as the chain of files that closes it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

/**
 * The files an entry point loads when it is imported: value imports and re-exports followed from it
 * (`import type` and `export type` are erased; a dynamic `import()` loads later, when it runs).
 */
function loadedFrom(entry: string): Map<string, string> {
  const staticImport = /^(?:import|export)\s(?!type\s)[^'";]*?from\s+'([^']+)'|^import\s+'([^']+)'/gm;
  const loaded = new Map<string, string>(); // file → its text
  const visit = (file: string) => {
    if (loaded.has(file)) return;
    const text = readFileSync(file, 'utf8');
    loaded.set(file, text);
    for (const match of text.matchAll(staticImport)) {
      const specifier = match[1] ?? match[2];
      if (specifier.startsWith('.')) visit(normalize(join(dirname(file), specifier.replace(/\.js$/, '.ts'))));
    }
  };
  visit(join(root, entry));
  return loaded;
}

/**
 * The layers, lowest first (a folder, or a file at the root): a file imports from its own layer and those
 * below, never from one above. The core tells what happens (listeners, observables) and whoever sits above —
 * telemetry, the dashboard — listens: `calls/` defines what it records of a call, `telemetry/` records it.
 */
const layers: readonly (readonly string[])[] = [
  ['util', 'errors.ts', 'discovery.messages.ts', 'pick.messages.ts', 'client.messages.ts'],
  ['discovery.constants.ts', 'service-endpoint.interface.ts'],
  ['balancing'],
  ['options'],
  ['codec'],
  ['etcd'],
  ['watch'],
  ['registration'],
  ['catalog'],
  ['policy'],
  ['picking'],
  ['calls'],
  ['reports'],
  ['http'],
  ['transport'],
  ['telemetry'],
  ['dashboard'],
  ['discovery'],
  ['bootstrap'],
  ['discovery-status.ts', 'discovery.module-definition.ts'],
  ['discovery.providers.ts', 'testing', 'terminus'],
  ['discovery.module.ts', 'deprecated.ts', 'index.ts'],
  ['cli'],
];

/** The layer of a library file: the index in `layers` of its folder (or of its name, at the root). */
function layerOf(file: string): number {
  const [first] = relative(root, file).split('/');
  const layer = layers.findIndex((names) => names.includes(first));
  if (layer < 0) throw new Error(`${relative(root, file)} is in no layer: add its folder to \`layers\``);
  return layer;
}

/** Every import that runs up the layers, as `from → to`. */
function importsUp(graph: Map<string, string[]>): string[] {
  return [...graph].flatMap(([from, targets]) =>
    targets.filter((to) => layerOf(to) > layerOf(from)).map((to) => `${relative(root, from)} → ${relative(root, to)}`),
  );
}

describe("the library's architecture", () => {
  it('has no import cycle', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(50); // the walk saw the library, not an empty folder
    const found = cycles(graph).map((cycle) => cycle.map((file) => relative(root, file)).join(' → '));
    expect(found).toEqual([]);
  });

  it('has no import that runs up the layers', () => {
    expect(importsUp(importGraph())).toEqual([]);
  });

  it('finds an import that runs up the layers (the check itself)', () => {
    const telemetry = join(root, 'telemetry/discovery-metrics.ts');
    const watches = join(root, 'watch/service-watches.ts');
    expect(importsUp(new Map([[watches, [telemetry]]]))).toEqual([
      'watch/service-watches.ts → telemetry/discovery-metrics.ts',
    ]);
    expect(importsUp(new Map([[telemetry, [watches]]]))).toEqual([]);
  });

  it('has no file over 200 lines', () => {
    const long = libraryFiles()
      .map((file) => ({ file: relative(root, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > 200);
    expect(long).toEqual([]);
  });

  it.each(['index.ts', 'dashboard/index.ts', 'codec/index.ts', 'testing/index.ts', 'terminus/index.ts'])(
    '%s loads without @nestjs/microservices (an optional peer): only a client proxy, when made, needs it',
    (entry) => {
      const loaded = loadedFrom(entry);
      expect(loaded.size).toBeGreaterThan(entry === 'index.ts' ? 50 : 1);
      const needing = [...loaded]
        .filter(([, text]) => /^import\s(?!type\s)[^;]*from '@nestjs\/microservices/m.test(text))
        .map(([file]) => relative(root, file));
      expect(needing).toEqual([]);
    },
  );

  it('sees an import of @nestjs/microservices in the file that has one (the check itself)', () => {
    const loaded = loadedFrom('transport/discovery-client-proxy.ts');
    expect([...loaded.values()].some((text) => /^import \{[^}]*\} from '@nestjs\/microservices'/m.test(text))).toBe(
      true,
    );
  });

  it('finds a cycle when there is one (the check itself)', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });
});
