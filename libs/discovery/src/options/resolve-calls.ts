import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import type {
  CallPolicy,
  DiscoveryCallsOptions,
  ResolvedCallPolicy,
  ResolvedCalls,
} from './calls-options.interface.js';
import {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_BUDGET,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_CONNECTIONS_PER_INSTANCE,
  DEFAULT_HEDGE_BUDGET_PERCENT,
  DEFAULT_HEDGE_MAX_ATTEMPTS,
  DEFAULT_HEDGE_MIN_MS,
} from './defaults.js';
import { assertDuration, assertKnownKeys, assertServiceName } from './validation.js';

const policyKeys = ['timeoutMs', 'attemptTimeoutMs', 'hedge', 'budget', 'connectionsPerInstance'];

/** `calls` with its defaults, checked: a service's own policy is the defaults with what it sets. */
export function resolveCalls(given: DiscoveryCallsOptions | undefined): ResolvedCalls {
  if (given !== undefined && (typeof given !== 'object' || given === null))
    throw new DiscoveryOptionsError(messages.badCalls('calls', given));
  assertKnownKeys('calls', given, [...policyKeys, 'services']);
  const defaults = resolvePolicy('calls', given ?? {}, undefined);
  const services = new Map<string, ResolvedCallPolicy>();
  const perService = given?.services ?? {};
  if (typeof perService !== 'object' || perService === null)
    throw new DiscoveryOptionsError(messages.badCalls('calls.services', perService));
  for (const [service, own] of Object.entries(perService)) {
    assertServiceName(service, '`calls.services`');
    services.set(service, resolvePolicy(`calls.services["${service}"]`, own, given ?? {}));
  }
  return { defaults, services };
}

function resolvePolicy(where: string, own: CallPolicy, inherited: CallPolicy | undefined): ResolvedCallPolicy {
  if (typeof own !== 'object' || own === null) throw new DiscoveryOptionsError(messages.badCalls(where, own));
  if (inherited !== undefined) assertKnownKeys(where, own, policyKeys);
  const pick = <K extends keyof CallPolicy>(key: K) => (own[key] !== undefined ? own[key] : inherited?.[key]);
  const timeoutMs = pick('timeoutMs') ?? DEFAULT_CALL_TIMEOUT_MS;
  const attemptTimeoutMs = pick('attemptTimeoutMs') ?? Math.min(DEFAULT_ATTEMPT_TIMEOUT_MS, timeoutMs);
  assertDuration(`${where}.timeoutMs`, timeoutMs, 1);
  assertDuration(`${where}.attemptTimeoutMs`, attemptTimeoutMs, 1);
  if (attemptTimeoutMs > timeoutMs)
    throw new DiscoveryOptionsError(messages.badAttemptTimeout(where, attemptTimeoutMs, timeoutMs));
  const connectionsPerInstance = pick('connectionsPerInstance') ?? DEFAULT_CONNECTIONS_PER_INSTANCE;
  if (!(Number.isInteger(connectionsPerInstance) && connectionsPerInstance >= 1))
    throw new DiscoveryOptionsError(
      messages.badCalls(`${where}.connectionsPerInstance`, connectionsPerInstance, 'give a whole number ≥ 1'),
    );
  return {
    timeoutMs,
    attemptTimeoutMs,
    hedge: resolveHedge(where, pick('hedge'), attemptTimeoutMs),
    budget: resolveBudget(where, pick('budget')),
    connectionsPerInstance,
  };
}

/** The hedge settings a call policy gets when it says nothing of them. */
export function defaultHedge(attemptTimeoutMs: number): ResolvedCallPolicy['hedge'] {
  return resolveHedge('hedge', undefined, attemptTimeoutMs);
}

function resolveHedge(
  where: string,
  given: CallPolicy['hedge'],
  attemptTimeoutMs: number,
): ResolvedCallPolicy['hedge'] {
  if (given === false) return false;
  if (given !== undefined && (typeof given !== 'object' || given === null))
    throw new DiscoveryOptionsError(messages.badCalls(`${where}.hedge`, given));
  assertKnownKeys(`${where}.hedge`, given, ['afterMs', 'minMs', 'maxMs', 'maxAttempts', 'budgetPercent']);
  const afterMs = given?.afterMs ?? 'adaptive';
  const minMs = given?.minMs ?? Math.min(DEFAULT_HEDGE_MIN_MS, attemptTimeoutMs);
  const maxMs = given?.maxMs ?? Math.max(minMs, Math.floor(attemptTimeoutMs / 2));
  if (afterMs !== 'adaptive') assertDuration(`${where}.hedge.afterMs`, afterMs, 1);
  assertDuration(`${where}.hedge.minMs`, minMs, 1);
  assertDuration(`${where}.hedge.maxMs`, maxMs, 1);
  if (maxMs < minMs)
    throw new DiscoveryOptionsError(
      messages.badCalls(`${where}.hedge`, given, `\`maxMs\` (${maxMs}) must be at least \`minMs\` (${minMs})`),
    );
  const maxAttempts = given?.maxAttempts ?? DEFAULT_HEDGE_MAX_ATTEMPTS;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 2 && maxAttempts <= 5))
    throw new DiscoveryOptionsError(
      messages.badCalls(`${where}.hedge`, given, '`maxAttempts` must be a whole number from 2 to 5'),
    );
  const budgetPercent = given?.budgetPercent ?? DEFAULT_HEDGE_BUDGET_PERCENT;
  if (!(typeof budgetPercent === 'number' && budgetPercent >= 0 && budgetPercent <= 100))
    throw new DiscoveryOptionsError(
      messages.badCalls(`${where}.hedge`, given, '`budgetPercent` must be a number between 0 and 100'),
    );
  return { afterMs, minMs, maxMs, maxAttempts, budgetPercent };
}

function resolveBudget(where: string, given: CallPolicy['budget']): ResolvedCallPolicy['budget'] {
  if (given === false) return false;
  if (given !== undefined && (typeof given !== 'object' || given === null))
    throw new DiscoveryOptionsError(messages.badCalls(`${where}.budget`, given));
  assertKnownKeys(`${where}.budget`, given, ['percent', 'minPerSecond']);
  const budget = { ...DEFAULT_BUDGET, ...given };
  if (!(typeof budget.percent === 'number' && budget.percent >= 0 && budget.percent <= 100)) {
    throw new DiscoveryOptionsError(messages.badCalls(`${where}.budget`, given, '`percent` must be between 0 and 100'));
  }
  if (!(typeof budget.minPerSecond === 'number' && budget.minPerSecond >= 0 && Number.isFinite(budget.minPerSecond))) {
    throw new DiscoveryOptionsError(messages.badCalls(`${where}.budget`, given, '`minPerSecond` must be a number ≥ 0'));
  }
  return budget;
}
