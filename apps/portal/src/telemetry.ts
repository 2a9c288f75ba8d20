import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * OpenTelemetry metrics, read as Prometheus text at the portal's GET /metrics (see main.ts): the
 * library's `discovery.*` metrics, and any of the app's own. Started before the Nest app is made,
 * as OpenTelemetry asks: the library takes its meter when its providers are made.
 */
export const prometheus = new PrometheusExporter({ preventServerStart: true });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [prometheus] }));
