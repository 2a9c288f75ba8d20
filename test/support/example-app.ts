import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './child-processes.js';

/** The repository's root, found from this file wherever it was compiled to (test/ or scripts/dist/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'libs/discovery/package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export interface ExampleApp {
  child: ChildProcess;
  /** What the app printed as its address: `http://host:port` or `tcp://host:port`. */
  url: string;
  /** `host:port` of that address. */
  address: string;
}

/**
 * Starts one of the example apps (apps/<name>, built by `npm run build`) as its own process and
 * resolves once it prints that it listens. Its output goes to `log` when given, nowhere otherwise.
 */
export async function startExampleApp(name: string, env: NodeJS.ProcessEnv, log?: Writable): Promise<ExampleApp> {
  const child = track(
    spawn(process.execPath, [join(repoRoot(), 'apps/dist', name, 'src/main.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  if (log) child.stderr!.pipe(log);
  else child.stderr!.resume();
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log?.write(`${line}\n`);
      const match = / listening on (\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before listening`)));
  });
  return { child, url, address: url.replace(/^\w+:\/\//, '') };
}
