import type { Etcd3 } from 'etcd3';
import { decodeEndpoint } from '../codec/endpoint-codec.js';
import { isRefusal } from '../etcd/etcd-errors.js';
import {
  policyAppliedPrefix,
  policyHistoryPrefix,
  policyKey,
  policyPrefix,
  reportsAskedKey,
  serviceOfPolicyKey,
} from '../policy/policy-keys.js';
import { parsePolicyReport, type PolicyReport } from '../policy/policy-report.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { CliInputError } from './cli-arguments.js';

/** A document as read: its text and the revision it was written at (0: there is none). */
export interface StoredPolicy {
  text: string | undefined;
  revision: number;
}

/** One change kept in a service's history: the document it replaced (and since when), who made it and why. */
export interface HistoryEntry {
  /** The revision the replaced document was written at (0: there was none). */
  revision: number;
  /** The replaced document's text; null: there was none. */
  document: string | null;
  replacedAt: string;
  by: string;
  reason?: string;
}

/** The most changes kept per service. */
export const HISTORY_LENGTH = 50;

/** etcd did not answer in time, or refused: exit 2, nothing written. */
export class EtcdProblem extends Error {
  override readonly name = 'EtcdProblem';
}

/**
 * What the CLI reads and writes in etcd, each request bounded by `timeoutMs`: the services' instances, their policy
 * documents, and their history. A write compares the revision the document was read at (two operators never lose
 * each other's change) and keeps the document it replaces in the same transaction, with the last 50 kept.
 */
export class PolicyStore {
  constructor(
    private readonly client: Etcd3,
    readonly namespace: string,
    readonly timeoutMs: number,
    private readonly where: string,
  ) {}

  async read(service: string): Promise<StoredPolicy> {
    const { kvs } = await this.ask(this.client.get(policyKey(this.namespace, service)).exec());
    const [kv] = kvs;
    return kv === undefined
      ? { text: undefined, revision: 0 }
      : { text: kv.value.toString(), revision: +kv.mod_revision };
  }

  /** Every policy document, by service. */
  async readAll(): Promise<Map<string, StoredPolicy>> {
    const { kvs } = await this.ask(this.client.getAll().prefix(policyPrefix(this.namespace)).exec());
    return new Map(
      kvs.flatMap((kv) => {
        const service = serviceOfPolicyKey(this.namespace, kv.key.toString());
        return service === undefined ? [] : [[service, { text: kv.value.toString(), revision: +kv.mod_revision }]];
      }),
    );
  }

  /** The instances of `service` (or of every service), sorted by id as apps list them; unreadable values skipped. */
  async endpoints(service?: string): Promise<ServiceEndpoint[]> {
    const prefix = service === undefined ? `${this.namespace}/` : `${this.namespace}/${service}/`;
    const { kvs } = await this.ask(this.client.getAll().prefix(prefix).exec());
    return kvs
      .map((kv) => decodeEndpoint(this.namespace, kv.key.toString(), kv.value.toString()))
      .flatMap((result) => (result.ok ? [result.endpoint] : []))
      .sort((a, b) => (a.service === b.service ? compare(a.id, b.id) : compare(a.service, b.service)));
  }

  /**
   * Writes `text` as the document of `service` if it is still the one `read`, keeping `read` in the history (`by`,
   * `reason`); `askReports`: and asks every caller for its report in the same transaction (`--wait`).
   * @returns the revision written at. @throws CliInputError when someone changed it since (nothing written).
   */
  async write(
    service: string,
    read: StoredPolicy,
    text: string,
    { by, reason, askReports }: { by: string; reason?: string; askReports: boolean },
  ): Promise<number> {
    const key = policyKey(this.namespace, service);
    const history = policyHistoryPrefix(this.namespace, service);
    const kept = await this.ask(this.client.getAll().prefix(history).keys());
    const entry: HistoryEntry = {
      revision: read.revision,
      document: read.text ?? null,
      replacedAt: new Date().toISOString(),
      by,
      ...(reason === undefined ? {} : { reason }),
    };
    const tooOld = kept.sort().slice(0, Math.max(0, kept.length - (HISTORY_LENGTH - 1)));
    const commit = (withAsk: boolean) =>
      this.ask(
        this.client
          .if(key, 'Mod', '==', read.revision)
          .then(
            this.client.put(key).value(text),
            this.client.put(`${history}${String(read.revision).padStart(20, '0')}`).value(JSON.stringify(entry)),
            ...tooOld.map((old) => this.client.delete().key(old)),
            ...(withAsk ? [this.askOp()] : []),
          )
          .commit(),
      );
    let result: Awaited<ReturnType<typeof commit>>;
    try {
      result = await commit(askReports);
    } catch (error) {
      if (!askReports || !isRefusal((error as Error).cause)) throw error;
      // A role that may write this document but not the ask: written without it, then asked on its own if it may.
      result = await commit(false);
      if (result.succeeded) await this.askReports().catch(() => undefined);
    }
    if (!result.succeeded)
      throw new CliInputError(
        `the policy of "${service}" changed since it was read (revision ${read.revision}): nothing written; run again`,
      );
    return +result.header.revision;
  }

  /** The revision of the last ask for reports (0: none). */
  async lastAskRevision(): Promise<number> {
    const { kvs } = await this.ask(this.client.get(reportsAskedKey(this.namespace)).exec());
    return kvs.length === 0 ? 0 : +kvs[0].mod_revision;
  }

  /** Asks every app that calls a service for its report: each writes it within a few seconds. */
  async askReports(): Promise<void> {
    await this.ask(this.askOp().exec());
  }

  private askOp() {
    return this.client.put(reportsAskedKey(this.namespace)).value(JSON.stringify({ at: new Date().toISOString() }));
  }

  /** What each app reports it applies (values that are not reports skipped). */
  async reports(): Promise<PolicyReport[]> {
    const { kvs } = await this.ask(this.client.getAll().prefix(policyAppliedPrefix(this.namespace)).exec());
    return kvs.flatMap((kv) => parsePolicyReport(kv.value.toString()) ?? []);
  }

  /** The history of `service`, oldest first. */
  async history(service: string): Promise<HistoryEntry[]> {
    const { kvs } = await this.ask(this.client.getAll().prefix(policyHistoryPrefix(this.namespace, service)).exec());
    return kvs.map((kv) => JSON.parse(kv.value.toString()) as HistoryEntry).sort((a, b) => a.revision - b.revision);
  }

  /** `request`, or an EtcdProblem once `timeoutMs` passed or etcd refused. */
  async ask<T>(request: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EtcdProblem(`etcd at ${this.where} did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([request, late]);
    } catch (error) {
      if (error instanceof EtcdProblem) throw error;
      throw new EtcdProblem(`etcd at ${this.where}: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
