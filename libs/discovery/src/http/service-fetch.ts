import { Injectable } from '@nestjs/common';
import { fetch, Headers, type BodyInit, type HeadersInit, type Response } from 'undici';
import type { LazyAttemptContext } from '../calls/attempt-signal.js';
import type { CallTrace } from '../calls/call-record.js';
import { CallAttempts } from '../calls/call-attempts.js';
import type { CallAnswers } from '../calls/call-settings.js';
import { ServicePicks } from '../picking/service-picks.js';
import type { DiscoveryFetchInit } from './discovery-fetch.interface.js';
import { drainBody } from './drain-body.js';
import { FetchTargets } from './fetch-targets.js';
import { InstancePools } from './instance-pools.js';
import { neverReached, retryAfterMs } from './http-answers.js';

/** The methods HTTP defines as idempotent: retried and hedged unless the request says otherwise. */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const DEFAULT_RETRY_ON: readonly number[] = [502, 503, 504];
/** Bodies up to this size are kept to be sent again; a larger one, or a stream, is sent once and never retried. */
const MAX_REPLAY_BYTES = 1024 * 1024;

/**
 * `DiscoveryClient.fetch()`: HTTP to a service by name — `http://log-service/lines` — with the
 * standard fetch (undici's) over per-instance keep-alive pools, through the one call path: picks,
 * deadlines, retries, hedges, the retry budget, outlier ejection.
 */
@Injectable()
export class ServiceFetch {
  private readonly targets = new FetchTargets();
  /** Made once: most requests keep the default `retryOn`. */
  private readonly defaultAnswers: CallAnswers<Response>;

  constructor(
    private readonly attempts: CallAttempts,
    private readonly pools: InstancePools,
    private readonly picks: ServicePicks,
  ) {
    this.defaultAnswers = this.answersRetryingOn(DEFAULT_RETRY_ON);
  }

  async fetch(input: string | URL, init: DiscoveryFetchInit = {}): Promise<Response> {
    const { service, protocol, path } = this.targets.of(input);
    const {
      idempotent: given,
      retryOn = DEFAULT_RETRY_ON,
      tls,
      timeoutMs,
      attemptTimeoutMs,
      retries,
      key,
      where,
      ...request
    } = init;
    const method = (request.method ?? 'GET').toUpperCase();
    const replayable = isReplayable(request.body);
    const idempotent = replayable && (given ?? IDEMPOTENT_METHODS.has(method));
    return this.attempts.call(
      service,
      async (endpoint, context) => {
        const { signal } = context;
        const attemptSignal = request.signal ? AbortSignal.any([request.signal, signal]) : signal;
        const dispatcher = this.pools.poolFor(endpoint, protocol, tls);
        const headers = withTraceparent(request.headers, (context as LazyAttemptContext).span);
        const response = await fetch(`${protocol}//${endpoint.address}${path}`, {
          ...request,
          headers,
          signal: attemptSignal,
          dispatcher,
        });
        const wait = response.status === 503 ? retryAfterMs(response.headers.get('retry-after')) : undefined;
        if (wait !== undefined) this.picks.holdOut(endpoint, wait);
        return response;
      },
      { idempotent, retries: replayable ? retries : 0, timeoutMs, attemptTimeoutMs, key, where },
      retryOn === DEFAULT_RETRY_ON ? this.defaultAnswers : this.answersRetryingOn(retryOn),
    );
  }

  /**
   * How the call path reads an answer: which are failures worth another instance, how to drop one (read to its end,
   * so that its connection is kept: hedges' losers are let finish), what never reached it, where a hedge fits.
   */
  private answersRetryingOn(retryOn: readonly number[]): CallAnswers<Response> {
    return {
      failedAnswer: (response) => retryOn.includes(response.status),
      discard: (response) => void drainBody(response),
      losersFinish: true,
      hedgeFits: (endpoint) => this.pools.hedgeFits(endpoint),
      neverReached,
      spanName: 'fetch',
    };
  }
}

/**
 * The request's headers, with the call's W3C `traceparent` when its span is recorded (the server's spans then join the
 * trace).
 */
function withTraceparent(given: HeadersInit | undefined, span: CallTrace | undefined): HeadersInit | undefined {
  if (span === undefined) return given;
  const headers = new Headers(given);
  span.inject(headers);
  return headers;
}

/** Whether the body can be sent again: none, or one held in memory and not too large. */
function isReplayable(body: BodyInit | null | undefined): boolean {
  if (body === undefined || body === null || body instanceof URLSearchParams || body instanceof FormData) return true;
  if (typeof body === 'string') return Buffer.byteLength(body) <= MAX_REPLAY_BYTES;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength <= MAX_REPLAY_BYTES;
  if (body instanceof Blob) return body.size <= MAX_REPLAY_BYTES;
  return false; // a stream: it can be read only once
}
