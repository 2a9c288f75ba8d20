import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { hash32 } from './hash.js';
import type { LoadBalancingStrategy, PickContext } from './load-balancing-strategy.js';
import { WeightClass } from './weight-class.js';

/** One list's schedule: a class per distinct weight, and a min-heap of the classes by next deadline. */
interface Schedule {
  list: readonly ServiceEndpoint[];
  classes: WeightClass[];
  /** Class indexes in heap order, with their deadlines side by side (sifting reads no other array). */
  heapClasses: Int32Array;
  heapDeadlines: Float64Array;
}

/**
 * Smooth weighted round robin, as earliest deadline first (Envoy's scheduler): endpoint i's k-th
 * turn is due at (k + φᵢ) / wᵢ on a virtual clock, where φᵢ in [0, 1) comes from its id (the same
 * in every process), and each pick takes the earliest. Over every period each endpoint gets exactly
 * its weight's share, its turns spread evenly through the period rather than in a burst. Weight 0
 * means never picked; the weight comes from the registration (default 1).
 *
 * Endpoints of one weight always take their turns in the same order (by φ), so they form one class
 * with a rotating pointer, and only the classes compete on a heap: a pick costs O(log C) for C
 * distinct weights (usually a handful), with no allocation. The schedule is built once per list
 * (lists are replaced, never changed in place), continuing the same clock: an endpoint that stays
 * keeps its turn, one that joins takes its place in the rotation from then on.
 */
export class WeightedRoundRobinStrategy implements LoadBalancingStrategy {
  private readonly schedules = new Map<string, Schedule>();

  pick(endpoints: readonly ServiceEndpoint[], { service, group = service }: PickContext): ServiceEndpoint | undefined {
    let schedule = this.schedules.get(group);
    if (schedule?.list !== endpoints) {
      schedule = buildSchedule(endpoints, schedule);
      this.schedules.set(group, schedule);
    }
    if (schedule.heapClasses.length === 0) return undefined;
    const due = schedule.classes[schedule.heapClasses[0]];
    const endpoint = due.take();
    siftDown(schedule, 0, schedule.heapClasses[0], due.deadline);
    return endpoint;
  }
}

function buildSchedule(list: readonly ServiceEndpoint[], previous: Schedule | undefined): Schedule {
  // The clock goes on: a weight that had a class continues its rotation exactly where it stood; a
  // new weight starts at the previous schedule's "now" (the deadline due next).
  const before = new Map(previous?.classes.map((weightClass) => [weightClass.weight, weightClass]));
  const now = previous && previous.heapClasses.length > 0 ? previous.heapDeadlines[0] : 0;
  const byWeight = new Map<number, { phase: number; endpoint: ServiceEndpoint }[]>();
  for (const endpoint of list) {
    if (!(endpoint.weight > 0)) continue;
    let members = byWeight.get(endpoint.weight);
    if (members === undefined) byWeight.set(endpoint.weight, (members = []));
    members.push({ phase: hash32(endpoint.id) / 4294967296, endpoint });
  }
  const classes = [...byWeight].map(([weight, members]) => {
    const position = before.get(weight)?.position ?? {
      round: Math.floor(now * weight),
      within: now * weight - Math.floor(now * weight),
    };
    return new WeightClass(weight, members, position.round, position.within);
  });
  const schedule: Schedule = {
    list,
    classes,
    heapClasses: Int32Array.from(classes, (_, index) => index),
    heapDeadlines: Float64Array.from(classes, (weightClass) => weightClass.deadline),
  };
  for (let position = (classes.length >> 1) - 1; position >= 0; position -= 1) {
    siftDown(schedule, position, schedule.heapClasses[position], schedule.heapDeadlines[position]);
  }
  return schedule;
}

/** Puts class `entry`, next due at `deadline`, at `from` and moves it down to its place. */
function siftDown(
  { heapClasses: entries, heapDeadlines: deadlines }: Schedule,
  from: number,
  entry: number,
  deadline: number,
): void {
  const size = entries.length;
  let position = from;
  for (;;) {
    let child = 2 * position + 1;
    if (child >= size) break;
    let childDeadline = deadlines[child];
    if (child + 1 < size && deadlines[child + 1] < childDeadline) {
      child += 1;
      childDeadline = deadlines[child]!;
    }
    // Equal deadlines need no tie-break for every process to agree: the same list and the same
    // picks give the same heap everywhere.
    if (childDeadline >= deadline) break;
    entries[position] = entries[child]!;
    deadlines[position] = childDeadline;
    position = child;
  }
  entries[position] = entry;
  deadlines[position] = deadline;
}
