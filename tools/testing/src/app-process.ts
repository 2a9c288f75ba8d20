import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { exited, track } from './child-processes.js';
import { readJsonLines } from './json-lines.js';
import { repoRoot } from './repo-root.js';
import { waitFor } from './wait.js';

/** One line a process printed on stdout, as JSON. */
export interface AppMessage {
  event?: string;
  [field: string]: unknown;
}

/**
 * A Node script running as its own process, as a user's app would: a fixture app of the tests
 * (test/fixtures, built by `npm run build`) or a bench process. It reports what happens as JSON
 * lines, which callers wait for; everything else it prints is kept as its log.
 */
export class AppProcess {
  readonly messages: AppMessage[] = [];
  private log = '';

  private constructor(readonly child: ChildProcess) {
    readJsonLines(
      child.stdout!,
      (message) => this.messages.push(message),
      (line) => this.keepLog(`${line}\n`),
    );
    // Nest's logger writes log and warn lines to stdout, errors to stderr: keep both.
    child.stderr!.on('data', (chunk: Buffer) => this.keepLog(chunk.toString()));
  }

  /** Starts test fixture `fixture` (file name without extension) with `config` in its APP_CONFIG variable. */
  static start(fixture: string, config: object, env: NodeJS.ProcessEnv = {}): AppProcess {
    return AppProcess.run(join(repoRoot(), 'test/fixtures/dist', `${fixture}.js`), {
      env: { ...env, APP_CONFIG: JSON.stringify(config) },
    });
  }

  /** Starts the script at `path` with Node, with `env` added to this process' environment. */
  static run(
    path: string,
    { env = {}, nodeArgs = [] }: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {},
  ): AppProcess {
    const child = spawn(process.execPath, [...nodeArgs, path], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new AppProcess(track(child));
  }

  /** The last lines the process logged (stdout and stderr, without the JSON messages). */
  get output(): string {
    return this.log;
  }

  private keepLog(text: string): void {
    this.log = (this.log + text).slice(-8000);
  }

  /** Waits for the first message of type `event` (and matching `where`, if given). */
  waitForMessage(
    event: string,
    timeoutMs = 15_000,
    where: (message: AppMessage) => boolean = () => true,
  ): Promise<AppMessage> {
    return this.waitForLine(
      `"${event}" from the app process`,
      (message) => message.event === event && where(message),
      timeoutMs,
    );
  }

  /** Waits for the first message that `matches`; fails at once, with the log, if the process exits first. */
  waitForLine(what: string, matches: (message: AppMessage) => boolean, timeoutMs = 15_000): Promise<AppMessage> {
    return waitFor(
      what,
      () => {
        const found = this.messages.find(matches);
        if (found) return found;
        if (this.child.exitCode !== null)
          throw new Error(`the process exited with ${this.child.exitCode}: ${this.log}`);
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

  /** Asks the process to stop (SIGTERM) and waits until it has. */
  async terminate(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exited();
  }

  /** Kills the process if it still runs; for afterEach. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited();
    }
  }
}
