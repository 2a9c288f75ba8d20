import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Every process a test starts is tracked here and killed when the test process exits, however it
 * exits (a failed assertion, a timeout, Ctrl-C): no etcd or app outlives the suite.
 */
const children = new Set<ChildProcess>();
let hooked = false;

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const running of children) running.kill('SIGKILL');
    });
  }
  return child;
}

/** Resolves when `child` has exited (at once if it already has), with its exit code or signal. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Spawns `command` (tracked, see `track`), keeping the last 4,000 characters it printed for error messages. */
export function spawnKeepingOutput(
  command: string,
  args: readonly string[],
): { child: ChildProcess; output: () => string } {
  const child = track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => output };
}
