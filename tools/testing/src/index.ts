/** The repository's test, bench and demo tooling (never published). */
export { AppProcess, type AppMessage } from './app-process.js';
export { exited, track } from './child-processes.js';
export { CapturingLogger, startConsumer } from './consumer.js';
export { endpointList, numberedEndpoint, testEndpoint } from './endpoints.js';
export { hexLeaseId, leaseIds, readKeys } from './etcd-keys.js';
export { deleteEndpoint, putEndpoint, putOperation } from './etcd-writes.js';
export { EtcdCluster, EtcdServer, type EtcdTlsFiles } from './etcd.js';
export { startExampleApp, type ExampleApp } from './example-app.js';
export { freePort } from './free-port.js';
export { printJsonLine, readJsonLines, reportEvent } from './json-lines.js';
export { appModule, httpPort, NestApps } from './nest-app.js';
export { repoRoot } from './repo-root.js';
export { acceptsConnections } from './tcp.js';
export { makeCertificates } from './tls.js';
export { waitFor } from './wait.js';
export { startBusyService } from './busy-service.js';
export { establishedConnections, openFileDescriptors } from './connections.js';
