import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { track } from './child-processes.js';
import { repoRoot } from './repo-root.js';

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
    spawn(process.execPath, [join(repoRoot(), 'apps/dist', name, 'src/main.js')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  if (log) child.stderr!.pipe(log);
  else child.stderr!.resume();
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log?.write(`${line}\n`);
      const match = / listening on (\S+)/.exec(line);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before listening`)));
  });
  return { child, url, address: url.replace(/^\w+:\/\//, '') };
}
