#!/usr/bin/env node
import { Etcd3, type IOptions } from 'etcd3';
import { readFileSync } from 'node:fs';
import { NotAppliedError } from './applied-wait.js';
import { CliInputError, parseArguments, parseDuration, type CliArguments } from './cli-arguments.js';
import { Output } from './output.js';
import { EtcdProblem, PolicyStore } from './policy-store.js';
import { describeService, getDocument, listServices, showHistory } from './read-verbs.js';
import { watchPolicies } from './watch-verb.js';
import { applyDocument, changePolicy, rollback } from './write-verbs.js';
import { USAGE } from './usage.js';

/**
 * The operator CLI, the package's bin: `npx nestjs-etcd-discovery <verb>`. Exit 0 on success; 1 with a one-line
 * reason for bad input or a refused change (nothing written); 2 when etcd could not be reached in `--timeout`; 3 when
 * `--wait` saw a caller not apply the change in `--timeout` (it is written); 4 for an unexpected error.
 */
async function main(argv: readonly string[]): Promise<number> {
  const args = parseArguments(argv);
  if (args.flags.help === true || args.verb === undefined || args.verb === 'help') {
    process.stdout.write(USAGE);
    return args.verb === undefined && args.flags.help !== true ? 1 : 0;
  }
  const hosts = String(args.flags.etcd ?? process.env.ETCD_HOSTS ?? '127.0.0.1:2379')
    .split(',')
    .map((host) => host.trim())
    .filter((host) => host !== '');
  const namespace = String(args.flags.namespace ?? '/services').replace(/\/+$/, '');
  if (!namespace.startsWith('/')) throw new CliInputError(`--namespace ${namespace}: a key prefix starting with /`);
  const timeoutMs = args.flags.timeout === undefined ? 5000 : parseDuration(String(args.flags.timeout), '--timeout');
  const client = new Etcd3({ hosts, ...security(args), dialTimeout: timeoutMs });
  const store = new PolicyStore(client, namespace, timeoutMs, hosts.join(','));
  const out = new Output(args.flags.json === true);
  try {
    await run(args, store, client, out);
    return 0;
  } finally {
    client.close();
  }
}

async function run(args: CliArguments, store: PolicyStore, client: Etcd3, out: Output): Promise<void> {
  const service = () => {
    const [name] = args.positionals;
    if (name === undefined || name.includes('/')) throw new CliInputError(`${args.verb} needs <service>`);
    return name;
  };
  switch (args.verb) {
    case 'ls':
      return listServices(store, out);
    case 'describe':
      return describeService(store, service(), out);
    case 'get':
      return getDocument(store, service(), out);
    case 'history':
      return showHistory(store, service(), out);
    case 'apply':
      return applyDocument(store, args, out);
    case 'rollback':
      return rollback(store, args, out);
    case 'watch':
      return watchPolicies(client, store, args.positionals[0], out.json);
    default:
      return changePolicy(store, args, out);
  }
}

/** `--user name[:password]` (else ETCD_PASSWORD), `--cacert`, `--cert` and `--key`: as the library's `etcd` options. */
function security(args: CliArguments): Partial<IOptions> {
  const options: Partial<IOptions> = {};
  if (typeof args.flags.user === 'string') {
    const [username, ...rest] = args.flags.user.split(':');
    const password = rest.length > 0 ? rest.join(':') : process.env.ETCD_PASSWORD;
    if (password === undefined) throw new CliInputError('--user needs name:password (or ETCD_PASSWORD)');
    options.auth = { username, password };
  }
  const file = (flag: 'cacert' | 'cert' | 'key') => {
    const path = args.flags[flag];
    if (typeof path !== 'string') return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new CliInputError(`--${flag} ${path}: ${(error as Error).message}`);
    }
  };
  const rootCertificate = file('cacert');
  if (rootCertificate !== undefined)
    options.credentials = { rootCertificate, certChain: file('cert'), privateKey: file('key') };
  return options;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    const code =
      error instanceof CliInputError ? 1 : error instanceof EtcdProblem ? 2 : error instanceof NotAppliedError ? 3 : 4;
    process.stderr.write(`nestjs-etcd-discovery: ${error.message}\n`);
    process.exit(code);
  },
);
