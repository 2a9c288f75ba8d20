import { encodeEndpoint, type ServiceEndpoint } from 'nestjs-etcd-discovery';

/** An endpoint for tests that write keys straight into etcd; nothing ever dials it. */
export function testEndpoint(service: string, id: string, port: number, extra: Partial<ServiceEndpoint> = {}): ServiceEndpoint {
  return { service, id, host: '10.9.0.1', port, address: `10.9.0.1:${port}`, metadata: {}, weight: 1, ...extra };
}

/** Its stored value, as the registry would write it. */
export function testValue(service: string, id: string, port: number, extra: Partial<ServiceEndpoint> = {}): string {
  return encodeEndpoint(testEndpoint(service, id, port, extra));
}
