import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { LoadBalancingStrategy, PickContext } from './load-balancing-strategy.js';

/**
 * Smooth weighted round robin (nginx's algorithm): every pick adds each endpoint's weight to its
 * running score, takes the highest score and subtracts the total weight from it. Weights 5:1:1
 * give a a b a c a a — the heavy endpoint's turns spread out, never a burst of five. Weight 0 means
 * never picked; the weight comes from the registration (default 1).
 */
export class WeightedRoundRobinStrategy implements LoadBalancingStrategy {
  /** Per service: running score per endpoint id. Ids that leave the list are forgotten. */
  private readonly scores = new Map<string, Map<string, number>>();

  pick(endpoints: readonly ServiceEndpoint[], { service }: PickContext): ServiceEndpoint | undefined {
    let scores = this.scores.get(service);
    if (!scores) {
      scores = new Map();
      this.scores.set(service, scores);
    }
    let total = 0;
    let best: ServiceEndpoint | undefined;
    let bestScore = -Infinity;
    for (const endpoint of endpoints) {
      if (!(endpoint.weight > 0)) continue;
      const score = (scores.get(endpoint.id) ?? 0) + endpoint.weight;
      scores.set(endpoint.id, score);
      total += endpoint.weight;
      if (score > bestScore) {
        bestScore = score;
        best = endpoint;
      }
    }
    if (!best) return undefined;
    scores.set(best.id, bestScore - total);
    if (scores.size > endpoints.length) this.forgetDeparted(scores, endpoints);
    return best;
  }

  private forgetDeparted(scores: Map<string, number>, endpoints: readonly ServiceEndpoint[]): void {
    const present = new Set(endpoints.map((endpoint) => endpoint.id));
    for (const id of scores.keys()) if (!present.has(id)) scores.delete(id);
  }
}
