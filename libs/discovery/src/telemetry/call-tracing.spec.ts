import { propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Test } from '@nestjs/testing';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import { firstValueFrom, NEVER, of } from 'rxjs';
import { DiscoveryTestingModule } from '../testing/index.js';
import { ClientProxyParts } from '../transport/client-proxy-parts.js';
import { DiscoveryClientProxy } from '../transport/discovery-client-proxy.js';

describe('call spans through @opentelemetry/api', () => {
  it('a CLIENT span per fetch/call/send: an event per attempt, the outcome; fetch() sends traceparent', async () => {
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const received: (string | undefined)[] = [];
    const server = createServer((request, response) => {
      received.push(request.headers.traceparent as string | undefined);
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    // A port nothing listens on any more: it refuses. Round robin tries it first (ids in order).
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const refusing = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const endpoints = {
      web: [
        { id: 'a', host: '127.0.0.1', port: refusing },
        { id: 'b', host: '127.0.0.1', port },
      ],
    };
    const app = await (
      await Test.createTestingModule({
        imports: [DiscoveryTestingModule.forRoot({ endpoints, outlierEjection: false })],
      }).compile()
    ).init();
    const discovery = app.get(DiscoveryClient);
    try {
      expect(await (await discovery.fetch('http://web/')).text()).toBe('ok');
      await expect(discovery.call('web', async () => Promise.reject(new Error('the handler said no')))).rejects.toThrow(
        'the handler said no',
      );
      const proxy = new DiscoveryClientProxy({ service: 'web', retries: 2 }, app.get(ClientProxyParts), () => ({
        send: () => of<any>('pong'),
        emit: () => of<any>(undefined),
        close: () => undefined,
      }));
      expect(await firstValueFrom(proxy.send('ping', {}))).toBe('pong');
      // A send its caller gives up before any reply: its span ends all the same.
      const silent = new DiscoveryClientProxy(
        { service: 'web', retries: 2, timeoutMs: 60_000 },
        app.get(ClientProxyParts),
        () => ({
          send: () => NEVER,
          emit: () => of<any>(undefined),
          close: () => undefined,
        }),
      );
      silent.send('ping', {}).subscribe().unsubscribe();

      const [fetched, called, sent, givenUp] = exporter.getFinishedSpans();
      expect(fetched.name).toBe('fetch web');
      expect(fetched.kind).toBe(SpanKind.CLIENT);
      expect(fetched.attributes).toEqual({ 'discovery.service': 'web', 'discovery.outcome': 'ok' });
      expect(fetched.events.map((event) => event.attributes)).toEqual([
        {
          'server.address': `127.0.0.1:${refusing}`,
          'discovery.attempt.kind': 'first',
          'discovery.outcome': 'unreachable',
        },
        { 'server.address': `127.0.0.1:${port}`, 'discovery.attempt.kind': 'retry', 'discovery.outcome': 'ok' },
      ]);
      // The instance that answered was sent this span's context: its own spans join the trace.
      const { traceId, spanId } = fetched.spanContext();
      expect(received).toEqual([`00-${traceId}-${spanId}-01`]);

      expect(called.name).toBe('call web');
      expect(called.attributes['discovery.outcome']).toBe('error');
      expect(called.status.code).toBe(SpanStatusCode.ERROR);

      expect(sent.name).toBe('send web');
      expect(sent.attributes).toEqual({ 'discovery.service': 'web', 'discovery.outcome': 'ok' });
      expect(sent.events.map((event) => event.attributes!['discovery.attempt.kind'])).toEqual(['first']);
      expect(givenUp.name).toBe('send web');
      expect(givenUp.attributes['discovery.outcome']).toBeUndefined();
      expect(givenUp.events.map((event) => event.attributes!['discovery.outcome'])).toEqual(['cancelled']);
    } finally {
      await app.close();
      server.close();
      trace.disable();
      propagation.disable();
    }
  });
});
