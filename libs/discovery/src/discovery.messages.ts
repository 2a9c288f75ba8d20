/**
 * Every message the library shows a user, in one place. Each says what went wrong and what to
 * change, and none of them ever includes credentials.
 */
import { clientMessages } from './client.messages.js';
import { pickMessages } from './pick.messages.js';

const where = 'DiscoveryModule.forRoot()/forRootAsync()';

/** ` from 10.0.0.5:3000 and 10.0.0.6:3000 (2 attempts)`: the instances a call tried. */
const triedWords = (tried: readonly string[]) => {
  if (tried.length === 0) return '';
  const names = tried.length === 1 ? tried[0] : `${tried.slice(0, -1).join(', ')} and ${tried.at(-1)}`;
  const plural = tried.length === 1 ? '' : 's';
  return ` from ${names} (${tried.length} attempt${plural})`;
};

/** Why a call whose attempt timed out went no further. */
export type NotRetried = 'notIdempotent' | 'noneLeft' | 'noRetriesLeft' | 'budgetSpent';

const notRetriedWords = (service: string, why: NotRetried) => {
  switch (why) {
    case 'notIdempotent':
      return (
        '. It was not retried elsewhere: the call is not known to be idempotent ' +
        '(pass `idempotent: true` if it may run twice).'
      );
    case 'noneLeft':
      return ', and no other instance was left to try.';
    case 'noRetriesLeft':
      return ', and no retry was left (`retries` of call()).';
    case 'budgetSpent':
      return `, and was not retried: the retry budget of "${service}" is spent (every instance failing?).`;
  }
};

export const messages = {
  ...pickMessages,
  ...clientMessages,
  noHosts: () =>
    `No etcd hosts configured: set \`etcd.hosts\` in ${where} or the ETCD_HOSTS environment variable ` +
    `(comma-separated, e.g. ETCD_HOSTS=127.0.0.1:2379).`,
  badHost: (host: unknown) =>
    `Invalid etcd host ${JSON.stringify(host)}: each entry of \`etcd.hosts\`/ETCD_HOSTS must be a non-empty ` +
    `"host:port" or "http(s)://host:port" string.`,
  mixedHostSchemes: (hosts: readonly string[]) =>
    `etcd hosts ${JSON.stringify(hosts)} mix https:// and plain hosts: one client talks to every member the same ` +
    `way, so give all of them as https:// (TLS) or none.`,
  badTtl: (ttl: unknown) =>
    `Invalid \`ttl\` ${JSON.stringify(ttl)} in ${where}: the lease TTL is a whole number of seconds, ` +
    `at least 1 (default 10).`,
  badNamespace: (namespace: unknown) =>
    `Invalid \`namespace\` ${JSON.stringify(namespace)} in ${where}: it must start with "/" and have no empty ` +
    `segments, e.g. "/services" (the default).`,
  badRegistrationMode: (mode: unknown) =>
    `Invalid \`registration\` ${JSON.stringify(mode)} in ${where}: use 'fail-fast' (default: the app does not start ` +
    `while etcd is unreachable) or 'background' (the app starts and registration retries until etcd answers).`,
  badDuration: (name: string, value: unknown, min: number) =>
    `Invalid \`${name}\` ${JSON.stringify(value)} in ${where}: it must be a finite number of milliseconds ≥ ${min}.`,
  notGlobal: () =>
    `\`isGlobal: false\` in ${where} is not supported: DiscoveryModule is always global, since one etcd client ` +
    `and one lease serve the whole app. Remove \`isGlobal\`; feature modules inject DiscoveryClient and ` +
    `ServiceRegistry without importing it.`,
  unknownOption: (name: string, known: readonly string[]) =>
    `Unknown option \`${name}\` in ${where}: the options are ${known.map((option) => `\`${option}\``).join(', ')}.`,
  unknownNestedOption: (option: string, name: string, known: readonly string[]) =>
    `Unknown option \`${option}.${name}\` in ${where}: ` +
    `\`${option}\` takes ${known.map((key) => `\`${key}\``).join(', ')}.`,
  badBackoff: (option: string, initial: number, max: number) =>
    `Invalid \`${option}\` in ${where}: \`maxDelayMs\` (${max}) must be at least \`initialDelayMs\` (${initial}).`,
  retryRenamed: () =>
    `The \`retry\` option of ${where} is now \`backoff\` (the same settings); ` +
    `\`retry\` is read until the next minor version of nestjs-etcd-discovery.`,
  backoffAndRetry: () =>
    `Both \`backoff\` and \`retry\` in ${where}: \`retry\` is the old name of \`backoff\`; keep \`backoff\` only.`,
  badServiceName: (name: unknown, origin: string) =>
    `Invalid service name ${JSON.stringify(name)} in ${origin}: a service name is a non-empty string without "/", ` +
    `and not "." or "..".`,
  badInstanceId: (id: unknown, service: string) =>
    `Invalid instance \`id\` ${JSON.stringify(id)} for service "${service}": an id is a non-empty string without "/" ` +
    `(default: "host:port").`,
  badPort: (port: unknown, service: string) =>
    `Invalid \`port\` ${JSON.stringify(port)} for service "${service}": a port is a whole number from 1 to 65535.`,
  badAdvertisedHost: (host: unknown, service: string) =>
    `Invalid \`host\` ${JSON.stringify(host)} for service "${service}": a host is a non-empty name or IP address ` +
    `without spaces or "/".`,
  badWeight: (weight: unknown, service: string) =>
    `Invalid \`weight\` ${JSON.stringify(weight)} for service "${service}": a weight is a whole number ≥ 0 ` +
    `(0 = never picked, default 1).`,
  badMetadata: (service: string, field: string) =>
    `Invalid \`${field}\` for service "${service}": \`metadata\` is an object of string values, and ` +
    `\`version\`/\`zone\` are non-empty strings.`,
  badPatternList: (service: string, field: string, value: unknown) =>
    `Invalid \`${field}\` for service "${service}": give an array of non-empty strings (as send() or emit() ` +
    `name them, e.g. ['log.append']), not ${JSON.stringify(value)}.`,
  badPublishPatterns: (className: string, value: unknown) =>
    `Invalid \`publishPatterns\` ${JSON.stringify(value)} in @Discoverable() on ${className}: ` +
    `true (the default) or false.`,
  valueTooLarge: (key: string, bytes: number, limit: number) =>
    `The value of ${key} would be ${bytes} bytes; registrations keep to ${limit} (etcd refuses requests over ` +
    `1.5 MiB by default, --max-request-bytes): publish fewer patterns (\`publishPatterns: false\` on its ` +
    `@Discoverable()) or less metadata.`,
  duplicateService: (name: string, first: string, second: string) =>
    `Service "${name}" is declared by both ${first} and ${second}: each service name may be @Discoverable() ` +
    `on one class only. Rename one of them, or remove the duplicate decorator.`,
  duplicateRegistration: (key: string) =>
    `Service instance ${key} is already registered by this process: deregister it first, or give it another \`id\`.`,
  noPort: (service: string) =>
    `Cannot register "${service}": no port was given and the app has no HTTP server or TCP microservice ` +
    `whose port could be read (a gRPC server does not tell its port). ` +
    `Set \`port\` in @Discoverable("${service}", { port }).`,
  etcdUnreachable: (hosts: readonly string[], timeoutMs: number, cause: string) =>
    `Could not register with etcd at ${hosts.join(', ')} within ${timeoutMs} ms (${cause}). Check that etcd is ` +
    `running and reachable, and \`etcd.hosts\`/ETCD_HOSTS and the credentials; or set \`registration: 'background'\` ` +
    `to start anyway and keep retrying.`,
  etcdRefused: (hosts: readonly string[], cause: string, keyRange: string) =>
    `etcd at ${hosts.join(', ')} refused the request (${cause}). Check \`etcd.auth\` (user and password), and that ` +
    `the user's role may read and write the key range "${keyRange}" (etcdctl role grant-permission --prefix=true ` +
    `<role> readwrite ${keyRange}).`,
  requiredListTimeout: (services: readonly string[], timeoutMs: number, cause: string) =>
    `Could not read the endpoints of the required services ` +
    `${services.map((s) => (s.includes(' ') ? s : `"${s}"`)).join(', ')} from etcd ` +
    `within ${timeoutMs} ms (${cause}). Check that etcd is reachable, \`etcd.hosts\`/ETCD_HOSTS, and for https:// ` +
    `hosts \`etcd.credentials\` (CA and client certificate); or set \`registration: 'background'\` to start anyway.`,
  badOutlierEjection: (
    given: unknown,
    why = 'give false or { consecutiveFailures, baseEjectionMs, maxEjectedPercent }',
  ) => `Invalid \`outlierEjection\` ${JSON.stringify(given)}: ${why}.`,
  badSelfPreservation: (given: unknown, why = 'give false or { confirmMs, maxHoldMs }') =>
    `Invalid \`selfPreservation\` ${JSON.stringify(given)}: ${why}.`,
  badCalls: (
    option: string,
    given: unknown,
    detail = 'give an object of `timeoutMs`, `attemptTimeoutMs`, `hedge`, `budget`',
  ) => `Invalid \`${option}\` ${JSON.stringify(given)} in ${where}: ${detail}.`,
  badAttemptTimeout: (option: string, attemptTimeoutMs: number, timeoutMs: number) =>
    `Invalid \`${option}\` in ${where}: \`attemptTimeoutMs\` (${attemptTimeoutMs}) must not exceed ` +
    `\`timeoutMs\` (${timeoutMs}), which bounds the whole call.`,
  badCallIdempotent: (service: string, value: unknown) =>
    `call("${service}") needs \`idempotent\` as true or false, not ${JSON.stringify(value)}.`,
  badCallTimeout: (service: string, name: string, value: unknown) =>
    `call("${service}") needs \`${name}\` as a number of milliseconds ≥ 1, not ${JSON.stringify(value)}.`,
  callTimedOut: (service: string, timeoutMs: number, tried: readonly string[]) =>
    `call("${service}") got no answer within its timeoutMs (${timeoutMs} ms)${triedWords(tried)}. ` +
    `Check those instances (frozen, overloaded, cut off?), or give the call more time: ` +
    `\`timeoutMs\` in call() or \`calls.services["${service}"]\` in ${where}.`,
  attemptTimedOut: (service: string, attemptTimeoutMs: number, tried: readonly string[], notRetried: NotRetried) =>
    `call("${service}") got no answer within attemptTimeoutMs (${attemptTimeoutMs} ms)${triedWords(tried)}` +
    notRetriedWords(service, notRetried),
  sendTimedOut: (service: string, timeoutMs: number, tried: readonly string[], notRetried: NotRetried) =>
    `send() to "${service}" got no reply within timeoutMs (${timeoutMs} ms)${triedWords(tried)}` +
    (notRetried === 'notIdempotent'
      ? '. It was not sent to another instance: ' +
        'set `retryOnTimeout: true` in the client entry if the message may be handled twice.'
      : notRetriedWords(service, notRetried).replace('`retries` of call()', '`retries` of the client entry')),
  emitTimedOut: (service: string, timeoutMs: number, tried: readonly string[]) =>
    `emit() to "${service}" could not be sent within timeoutMs (${timeoutMs} ms)${triedWords(tried)}. ` +
    'It was not sent to another instance: the event may have arrived.',
  badFetchUrl: (url: string) =>
    `DiscoveryClient.fetch("${url}"): give an http:// or https:// URL whose host is the service's name, ` +
    `e.g. 'http://log-service/lines'.`,
  budgetExhausted: (service: string, percent: number, minPerSecond: number) =>
    `Retry budget of "${service}" spent: retries and hedges are past ${percent} % of its calls ` +
    `(at least ${minPerSecond}/s) over the last 10 s, so calls fail with what they had instead of trying ` +
    `another instance. Said once per episode (until none is refused for 10 s).`,
  badCallRetries: (service: string, retries: unknown) =>
    `call("${service}") needs \`retries\` as a whole number ≥ 0 (default 2), not ${JSON.stringify(retries)}.`,
  badZone: (zone: unknown) => `Invalid \`zone\` ${JSON.stringify(zone)}: a non-empty string, e.g. 'eu-1'.`,
  badZonePreference: (value: unknown) => `Invalid \`zonePreference\` ${JSON.stringify(value)}: true or false.`,
  badWhere: (client: string) =>
    `Invalid \`where\` in DiscoveryClientsModule entry "${client}": { version?, zone?, metadata? } or a predicate.`,
  badHealth: (why: string) => `Invalid \`health\` option: ${why}.`,
  badStatus: (status: unknown) => `Invalid status ${JSON.stringify(status)}: use 'up', 'draining' or 'down'.`,
  badMetrics: (value: unknown) =>
    `Invalid \`metrics\` ${JSON.stringify(value)}: an object, such as { perInstance: true }.`,
  badPerInstance: (value: unknown) =>
    `Invalid \`metrics.perInstance\` ${JSON.stringify(value)}: ` +
    `true (attempts and ejections by instance, one series per instance called) or false.`,
  badLogger: (logger: unknown) =>
    `Invalid \`logger\` ${JSON.stringify(logger)}: use false to turn the library's log lines off ` +
    `(Nest's log levels apply otherwise).`,
  badRequires: (requires: unknown) =>
    `Invalid \`requires\` ${JSON.stringify(requires)}: give an array of service names, e.g. ['log-service'].`,
  badDashboardPath: (path: unknown) =>
    `Invalid \`path\` ${JSON.stringify(path)} in DiscoveryDashboardModule.forRoot(): ` +
    `give a route path such as '/discovery'.`,
  badDashboardGuard: () =>
    `Invalid \`guard\` in DiscoveryDashboardModule.forRoot(): ` +
    `give a guard class (implementing CanActivate) or a guard instance.`,
  withdrawnBeforeStored: (key: string) =>
    `${key} was deregistered before it was stored: its register() ends here, with nothing written.`,
  registryClosed: () => `The service registry is closed: the application is shutting down.`,
  discoveryClosed: () => `The discovery client is closed: the application is shutting down.`,
} as const;
