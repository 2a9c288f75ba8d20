import { AppProcess } from './app-process.js';

/**
 * The app processes a spec starts, with the environment they share (`ETCD_HOSTS` …): call
 * `stopAll()` in `afterEach`, and nothing a test started outlives it.
 */
export class AppProcesses {
  private readonly running: AppProcess[] = [];

  constructor(private readonly env: () => NodeJS.ProcessEnv = () => ({})) {}

  /** Starts test fixture `fixture` with `config` (see `AppProcess.start`), with the shared environment and `env`. */
  start(fixture: string, config: object, env: NodeJS.ProcessEnv = {}): AppProcess {
    return this.track(AppProcess.start(fixture, config, { ...this.env(), ...env }));
  }

  /** Stopped with the others. */
  track(app: AppProcess): AppProcess {
    this.running.push(app);
    return app;
  }

  /** Kills every process still running (SIGKILL) and waits until they have exited. */
  async stopAll(): Promise<void> {
    await Promise.all(this.running.splice(0).map((app) => app.stop()));
  }
}
