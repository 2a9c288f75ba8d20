import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { exited, track } from './child-processes.js';
import { waitFor } from './wait.js';

const fixturesDir = fileURLToPath(new URL('../fixtures/dist/', import.meta.url));

/** One line a fixture app prints on stdout, as JSON. */
export interface AppMessage {
  event: string;
  [field: string]: unknown;
}

/**
 * A fixture app (test/fixtures/*.ts, compiled by `npm run build`) running as its own Node process,
 * as a user's app would. It reports what happens as JSON lines, which tests wait for.
 */
export class AppProcess {
  readonly messages: AppMessage[] = [];
  private log = '';

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) this.messages.push(JSON.parse(line) as AppMessage);
      else this.keepLog(`${line}\n`);
    });
    // Nest's logger writes log and warn lines to stdout, errors to stderr: keep both.
    child.stderr!.on('data', (chunk: Buffer) => this.keepLog(chunk.toString()));
  }

  /** Starts `fixture` (file name without extension) with `config` in its APP_CONFIG variable. */
  static start(fixture: string, config: object, env: NodeJS.ProcessEnv = {}): AppProcess {
    const child = spawn(process.execPath, [`${fixturesDir}${fixture}.js`], {
      env: { ...process.env, ...env, APP_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new AppProcess(track(child));
  }

  /** The last lines the app logged (Nest's log, stdout and stderr, without the JSON messages). */
  get output(): string {
    return this.log;
  }

  private keepLog(text: string): void {
    this.log = (this.log + text).slice(-8000);
  }

  /** Waits for the first message of type `event` (and matching `where`, if given). */
  async waitForMessage(event: string, timeoutMs = 15_000, where: (message: AppMessage) => boolean = () => true) {
    return waitFor(
      `"${event}" from the app process`,
      () => {
        const found = this.messages.find((message) => message.event === event && where(message));
        if (found) return found;
        if (this.child.exitCode !== null) throw new Error(`the app exited with ${this.child.exitCode}: ${this.log}`);
        return undefined;
      },
      { timeoutMs },
    );
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  exited() {
    return exited(this.child);
  }

  /** Kills the process if it still runs; for afterEach. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited();
    }
  }
}
