/**
 * The messages of `DiscoveryClientsModule` entries: what an entry got wrong, and what to change. Part of
 * `messages` (discovery.messages.ts), kept apart for length.
 */
export const clientMessages = {
  serviceAndByPattern: (name: string) =>
    `DiscoveryClientsModule entry "${name}": give either \`service\` (every call goes to that service) or ` +
    `\`byPattern: true\` (each call goes to a service that handles its pattern), not both.`,
  unsupportedTransport: (name: string, transport: unknown) =>
    `DiscoveryClientsModule entry "${name}": transport ${String(transport)} is not supported. Discovery picks a ` +
    `host:port per call, which TCP (with or without TLS) uses. ` +
    `Broker transports (Redis, NATS, RabbitMQ, Kafka, MQTT) route through their broker and need no discovery: ` +
    `use Nest's ClientsModule. For gRPC, use Nest's ClientsModule with url 'etcd:///<service>' ` +
    `(DiscoveryModule registers the etcd: resolver with @grpc/grpc-js).`,
  microservicesMissing: (name: string) =>
    `DiscoveryClientsModule entry "${name}" is a Nest ClientProxy, which comes with @nestjs/microservices: ` +
    `install it (npm install @nestjs/microservices, of your @nestjs/core's major). ` +
    `An HTTP-only app needs no client proxy: discovery.fetch() and call() work without it.`,
  badClientOption: (name: string, option: string, expected: string) =>
    `DiscoveryClientsModule entry "${name}": \`${option}\` must be ${expected}.`,
} as const;
