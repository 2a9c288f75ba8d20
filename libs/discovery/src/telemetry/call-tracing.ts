import { Injectable } from '@nestjs/common';
import { createRequire } from 'node:module';
import type {
  AttemptKind,
  AttemptMetricOutcome,
  CallMetricOutcome,
  CallTrace,
  HeaderCarrier,
} from '../calls/call-record.js';

/** What the library uses of `@opentelemetry/api`'s tracing, typed here so that none of its types is ours. */
interface OtelTraceApi {
  trace: {
    getTracer(name: string): {
      startSpan(name: string, options: { kind: number; attributes: Record<string, string> }): OtelSpan;
    };
    setSpan(context: unknown, span: OtelSpan): unknown;
  };
  context: { active(): unknown };
  propagation: {
    inject(
      context: unknown,
      carrier: HeaderCarrier,
      setter: { set(carrier: HeaderCarrier, key: string, value: string): void },
    ): void;
  };
  SpanKind: { CLIENT: number };
  SpanStatusCode: { ERROR: number };
}

interface OtelSpan {
  isRecording(): boolean;
  addEvent(name: string, attributes: Record<string, string | number>): void;
  setAttribute(key: string, value: string): void;
  setStatus(status: { code: number; message?: string }): void;
  end(): void;
}

const headerSetter = { set: (carrier: HeaderCarrier, key: string, value: string) => carrier.set(key, value) };

/** The span of one call through discovery: an event per attempt, the outcome at its end. */
export class CallSpan implements CallTrace {
  constructor(
    private readonly api: OtelTraceApi,
    private readonly span: OtelSpan,
  ) {}

  /** An attempt on `address` (`host:port`) ended. */
  attemptEnded(address: string, kind: AttemptKind, outcome: AttemptMetricOutcome): void {
    this.span.addEvent('discovery.attempt', {
      'server.address': address,
      'discovery.attempt.kind': kind,
      'discovery.outcome': outcome,
    });
  }

  /** Writes the W3C `traceparent` (and whatever the app's propagator adds) of this span into `headers`. */
  inject(headers: HeaderCarrier): void {
    this.api.propagation.inject(this.api.trace.setSpan(this.api.context.active(), this.span), headers, headerSetter);
  }

  /** The caller gave the call up: the span ends, with no outcome. */
  abandoned(): void {
    this.span.end();
  }

  end(outcome: CallMetricOutcome): void {
    this.span.setAttribute('discovery.outcome', outcome);
    if (outcome !== 'ok') this.span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: outcome });
    this.span.end();
  }
}

/**
 * The CLIENT spans of calls through discovery (an internal provider), from `@opentelemetry/api`
 * when the app has it — as for metrics, an optional peer — in the active context, so that a call
 * made while handling a request is a child of that request's span. A span the SDK does not record
 * (no SDK, or sampled out) is dropped at once: nothing more is done for it.
 */
@Injectable()
export class CallTracing {
  private readonly api: OtelTraceApi | undefined = optionalApi();
  /** OpenTelemetry's proxy tracer: it finds the SDK's tracer once the SDK is registered, whenever that is. */
  private readonly tracer = this.api?.trace.getTracer('nestjs-etcd-discovery');

  /**
   * A span for a call to `service` named `${name} ${service}` (`call`, `fetch`), or undefined when none is recorded.
   */
  start(service: string, name: string): CallSpan | undefined {
    if (this.tracer === undefined) return undefined;
    const api = this.api!;
    const span = this.tracer.startSpan(`${name} ${service}`, {
      kind: api.SpanKind.CLIENT,
      attributes: { 'discovery.service': service },
    });
    return span.isRecording() ? new CallSpan(api, span) : undefined;
  }
}

function optionalApi(): OtelTraceApi | undefined {
  try {
    return createRequire(import.meta.url)('@opentelemetry/api') as OtelTraceApi;
  } catch {
    return undefined;
  }
}
