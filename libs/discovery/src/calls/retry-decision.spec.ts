import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { decideRetry, type RetryQuestion } from './retry-decision.js';

const endpoint = { id: 'b' } as ServiceEndpoint;

/** A question whose answers are all "yes, go on", with `overrides`; records whether the budget was asked. */
function ask(overrides: Partial<RetryQuestion> = {}) {
  const asked = { budget: 0, untried: 0 };
  const decision = decideRetry({
    mayRepeat: true,
    attempts: 1,
    retries: 2,
    untried: () => (asked.untried++, endpoint),
    fromBudget: () => (asked.budget++, true),
    ...overrides,
  });
  return { decision, asked };
}

describe('the one retry decision of call(), fetch() and send()', () => {
  it('goes on to an instance not tried yet, taking one attempt from the budget', () => {
    expect(ask()).toEqual({ decision: { next: endpoint }, asked: { budget: 1, untried: 1 } });
  });

  it.each([
    ['a failure the call may not repeat', { mayRepeat: false }, 'notIdempotent', { budget: 0, untried: 0 }],
    ['no retries left', { attempts: 3 }, 'noRetriesLeft', { budget: 0, untried: 0 }],
    ['no instance left', { untried: () => undefined }, 'noneLeft', { budget: 0, untried: 0 }],
    ['the budget spent', { fromBudget: () => false }, 'budgetSpent', { budget: 0, untried: 1 }],
  ] as const)(
    'stops on %s, asking nothing after it (the budget is never spent for nothing)',
    (_, overrides, why, asked) => {
      expect(ask(overrides)).toEqual({ decision: { notRetried: why }, asked });
    },
  );
});
