import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { PatternKind } from './catalog.interface.js';

const none: readonly string[] = [];

/**
 * Which services handle each pattern, counted per instance so that a change costs what it changed:
 * an endpoint in or out adds or takes one per pattern it publishes. The sorted list of services per
 * pattern is made on the first question after it changed, and kept.
 */
export class PatternIndex {
  private readonly counts: Record<PatternKind, Map<string, Map<string, number>>> = {
    message: new Map(),
    event: new Map(),
  };
  private readonly answers: Record<PatternKind, Map<string, readonly string[]>> = {
    message: new Map(),
    event: new Map(),
  };

  add(endpoint: ServiceEndpoint): void {
    this.count('message', endpoint.service, endpoint.patterns, 1);
    this.count('event', endpoint.service, endpoint.events, 1);
  }

  remove(endpoint: ServiceEndpoint): void {
    this.count('message', endpoint.service, endpoint.patterns, -1);
    this.count('event', endpoint.service, endpoint.events, -1);
  }

  clear(): void {
    for (const kind of ['message', 'event'] as const) {
      this.counts[kind].clear();
      this.answers[kind].clear();
    }
  }

  /** The services with at least one endpoint that publishes `pattern`, sorted. */
  servicesFor(pattern: string, kind: PatternKind): readonly string[] {
    let answer = this.answers[kind].get(pattern);
    if (answer === undefined) {
      const services = this.counts[kind].get(pattern);
      answer = services === undefined ? none : [...services.keys()].sort();
      this.answers[kind].set(pattern, answer);
    }
    return answer;
  }

  private count(kind: PatternKind, service: string, patterns: readonly string[] | undefined, delta: 1 | -1): void {
    if (patterns === undefined) return;
    const counts = this.counts[kind];
    for (const pattern of patterns) {
      let services = counts.get(pattern);
      if (services === undefined) counts.set(pattern, (services = new Map<string, number>()));
      const count = (services.get(service) ?? 0) + delta;
      if (count > 0) services.set(service, count);
      else services.delete(service);
      if (services.size === 0) counts.delete(pattern);
      // Only when a service starts or stops handling it does the answer change.
      if (count === 0 || (count === 1 && delta > 0)) this.answers[kind].delete(pattern);
    }
  }
}
