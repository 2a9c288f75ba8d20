import type { ServiceEndpoint } from '../service-endpoint.interface.js';

/**
 * The endpoints of one weight w in a weighted schedule. Member i's turns are due at (r + φᵢ) / w
 * for rounds r = 0, 1, 2 …, so within a round they come in the order of their phases φ, and the
 * class is a rotation: the member due next, and its round.
 */
export class WeightClass {
  private readonly members: ServiceEndpoint[];
  private readonly phases: Float64Array;
  private readonly period: number;
  private next = 0;
  private round = 0;
  /** When the member due next is due. */
  deadline = 0;

  /**
   * `members` with their phases (any order), starting at `round`: with the first member whose phase
   * is at least `within`, or — if none is left this round — with the first of the next round.
   */
  constructor(
    readonly weight: number,
    members: { phase: number; endpoint: ServiceEndpoint }[],
    round: number,
    within: number,
  ) {
    // By phase, then by id: the same order in every process even if two phases collide.
    members.sort(
      (a, b) => a.phase - b.phase || (a.endpoint.id < b.endpoint.id ? -1 : a.endpoint.id > b.endpoint.id ? 1 : 0),
    );
    this.members = members.map((member) => member.endpoint);
    this.phases = Float64Array.from(members, (member) => member.phase);
    this.period = 1 / weight;
    this.round = round;
    while (this.next < this.phases.length && this.phases[this.next] < within) this.next += 1;
    if (this.next === this.phases.length) {
      this.next = 0;
      this.round += 1;
    }
    this.deadline = (this.round + this.phases[this.next]) * this.period;
  }

  /** Where the rotation stands: the round, and the phase of the member due next. */
  get position(): { round: number; within: number } {
    return { round: this.round, within: this.phases[this.next] };
  }

  /** The member due now; the rotation moves on and `deadline` says when the next is due. */
  take(): ServiceEndpoint {
    const taken = this.members[this.next];
    this.next += 1;
    if (this.next === this.members.length) {
      this.next = 0;
      this.round += 1;
    }
    this.deadline = (this.round + this.phases[this.next]) * this.period;
    return taken;
  }
}
