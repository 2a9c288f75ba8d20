import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import type { LoadBalancingStrategy, PickContext } from './load-balancing-strategy.js';

/** The running scores of one endpoint list, in arrays parallel to the list. */
interface Wheel {
  list: readonly ServiceEndpoint[];
  weights: Float64Array;
  scores: Float64Array;
  total: number;
}

/**
 * Smooth weighted round robin (nginx's algorithm): every pick adds each endpoint's weight to its
 * running score, takes the highest score and subtracts the total weight from it. Weights 5:1:1
 * give a a b a c a a — the heavy endpoint's turns spread out, never a burst of five. Weight 0 means
 * never picked; the weight comes from the registration (default 1).
 *
 * A pick is one pass over typed arrays built once per endpoint list (lists are replaced, never
 * mutated, on every change); when the list changes, endpoints that stay keep their score.
 */
export class WeightedRoundRobinStrategy implements LoadBalancingStrategy {
  private readonly wheels = new Map<string, Wheel>();

  pick(endpoints: readonly ServiceEndpoint[], { service }: PickContext): ServiceEndpoint | undefined {
    let wheel = this.wheels.get(service);
    if (wheel?.list !== endpoints) {
      wheel = buildWheel(endpoints, wheel);
      this.wheels.set(service, wheel);
    }
    if (wheel.total <= 0) return undefined;
    const { weights, scores } = wheel;
    let best = -1;
    let bestScore = -Infinity;
    for (let index = 0; index < scores.length; index += 1) {
      const score = scores[index]! + weights[index]!;
      scores[index] = score;
      if (weights[index]! > 0 && score > bestScore) {
        bestScore = score;
        best = index;
      }
    }
    scores[best] = bestScore - wheel.total;
    return endpoints[best];
  }
}

function buildWheel(list: readonly ServiceEndpoint[], previous: Wheel | undefined): Wheel {
  const carried = new Map<string, number>();
  previous?.list.forEach((endpoint, index) => carried.set(endpoint.id, previous.scores[index]!));
  const weights = Float64Array.from(list, (endpoint) => (endpoint.weight > 0 ? endpoint.weight : 0));
  const scores = Float64Array.from(list, (endpoint) => carried.get(endpoint.id) ?? 0);
  return { list, weights, scores, total: weights.reduce((sum, weight) => sum + weight, 0) };
}
