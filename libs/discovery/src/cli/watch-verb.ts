import type { Etcd3 } from 'etcd3';
import { policyKey, policyPrefix, serviceOfPolicyKey } from '../policy/policy-keys.js';
import { validateTrafficPolicy } from '../policy/validate-traffic-policy.js';
import type { PolicyStore } from './policy-store.js';

/** `watch [service]`: each change of a policy document as it happens, with whether apps accept it; until a signal. */
export async function watchPolicies(client: Etcd3, store: PolicyStore, service: string | undefined, json: boolean) {
  const builder = client.watch();
  const watcher = await store.ask(
    (service === undefined
      ? builder.prefix(policyPrefix(store.namespace))
      : builder.key(policyKey(store.namespace, service))
    ).create(),
  );
  const print = (kind: 'put' | 'delete', key: string, revision: string, text?: string) => {
    const name = serviceOfPolicyKey(store.namespace, key);
    if (name === undefined) return; // the CLI's ask for reports, not a document
    const check = text === undefined ? undefined : validateTrafficPolicy(text);
    const rejected = check?.valid === false ? `${check.problems[0].field} ${check.problems[0].message}` : undefined;
    const line = json
      ? JSON.stringify({
          at: new Date().toISOString(),
          service: name,
          revision: +revision,
          kind,
          document: text ?? null,
          ...(rejected ? { rejected } : {}),
        })
      : [new Date().toISOString(), name, `rev ${revision}`, kind === 'delete' ? 'deleted' : (text ?? '')]
          .concat(rejected === undefined ? [] : [`(rejected: ${rejected})`])
          .join('  ');
    process.stdout.write(`${line}\n`);
  };
  watcher.on('put', (kv) => print('put', kv.key.toString(), kv.mod_revision, kv.value.toString()));
  watcher.on('delete', (kv) => print('delete', kv.key.toString(), kv.mod_revision));
  if (!json) process.stderr.write(`watching ${service ?? 'every service'}'s policy (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await watcher.cancel();
}
