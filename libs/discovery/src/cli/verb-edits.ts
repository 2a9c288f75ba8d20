import type { TrafficPolicy } from '../policy/traffic-policy.interface.js';
import { MAX_OVERRIDE_MS } from '../policy/validate-traffic-policy.js';
import type { ServiceEndpoint } from '../service-endpoint.interface.js';
import { CliInputError, needWords, parseAssignments, parseDuration, type CliArguments } from './cli-arguments.js';
import * as edits from './policy-edits.js';

/** How long a drain or weight lasts when `--for` is not given. */
const DEFAULT_OVERRIDE_MS = 3600_000;

/** What a write verb makes of the document in force (the instances are those of the service now). */
export type Edit = (
  policy: TrafficPolicy,
  instances: readonly ServiceEndpoint[],
) => { next: TrafficPolicy; said: string };

/** The change each write verb asks for, from its words and flags. */
export function editOf(args: CliArguments): { service: string; edit: Edit } {
  const until = () => {
    const ms = args.flags.for === undefined ? DEFAULT_OVERRIDE_MS : parseDuration(String(args.flags.for), '--for');
    if (ms < 1000 || ms > MAX_OVERRIDE_MS) throw new CliInputError(`--for ${String(args.flags.for)}: from 1s to 7d`);
    return new Date(Date.now() + ms).toISOString();
  };
  const reason = typeof args.flags.reason === 'string' ? args.flags.reason : undefined;
  switch (args.verb) {
    case 'drain': {
      const [service, id] = needWords(args, ['service', 'instance id']);
      const end = until();
      return {
        service,
        edit: (policy, instances) => {
          knownInstance(service, id, instances);
          const next = edits.drained(policy, id, end, reason);
          if (args.flags.force !== true) return { next, said: `drain ${id} of ${service} until ${end}` };
          const forced = { ...next, guards: { ...next.guards, maxDrainedPercent: 100 } };
          return {
            next: forced,
            said: `drain ${id} of ${service} until ${end} (forced: guards.maxDrainedPercent 100)`,
          };
        },
      };
    }
    case 'undrain': {
      const [service, id] = needWords(args, ['service', 'instance id']);
      return {
        service,
        edit: (policy) => ({ next: edits.undrained(policy, id), said: `undrain ${id} of ${service}` }),
      };
    }
    case 'weight': {
      const [service, id, written] = needWords(args, ['service', 'instance id', 'weight']);
      if (!/^\d+$/.test(written))
        throw new CliInputError(`weight ${JSON.stringify(written)}: a whole number from 1 to 10000`);
      const end = until();
      return {
        service,
        edit: (policy, instances) => {
          knownInstance(service, id, instances);
          return {
            next: edits.weighted(policy, id, Number(written), end, reason),
            said: `weight ${written} for ${id} of ${service} until ${end}`,
          };
        },
      };
    }
    case 'split': {
      const [service] = needWords(args, ['service']);
      const words = args.positionals.slice(1);
      return {
        service,
        edit: (policy) => ({
          next: edits.split(policy, words, (w) => parseAssignments(w, 'a share (v1=90)')),
          said: `split ${service} ${words.join(' ')}`,
        }),
      };
    }
    case 'set': {
      const [service] = needWords(args, ['service']);
      const assignments = parseAssignments(args.positionals.slice(1), 'a call setting (timeoutMs=3000)');
      return {
        service,
        edit: (policy) => ({
          next: edits.callSettings(policy, assignments),
          said: `set ${service} ${assignments.map(([n, v]) => `${n}=${v}`).join(' ')}`,
        }),
      };
    }
    default:
      throw new CliInputError(`unknown verb ${JSON.stringify(args.verb)} (see --help)`);
  }
}

function knownInstance(service: string, id: string, instances: readonly ServiceEndpoint[]): void {
  if (!instances.some((endpoint) => endpoint.id === id))
    throw new CliInputError(
      `no instance ${JSON.stringify(id)} of "${service}" ` +
        `(its instances: ${instances.map((e) => e.id).join(', ') || 'none'})`,
    );
}
