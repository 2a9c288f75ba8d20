/** What `--help` prints. */
export const USAGE = `Usage: nestjs-etcd-discovery <verb> [words] [options]

Look at a fleet and steer its traffic live (a traffic policy per service, in etcd at <namespace>.policy/<service>):
  ls                                         services: instances up/draining/down/drained, policy, callers applied
  describe <service>                         instances with version, zone, status, drained, weight, share now
  drain <service> <id> [--for 30m] [--reason …] [--force] [--wait]
  undrain <service> <id>
  weight <service> <id> <n> [--for 30m]
  split <service> v1=90 v2=10 | off
  set <service> timeoutMs=3000 attemptTimeoutMs=500 retries=1 hedge=off   (name=default: the app's own again)
  apply <service> -f policy.json             a whole document (- : from stdin)
  get <service>                              the document
  history <service>                          the changes kept (the last 50)
  rollback <service> --to <revision>
  watch [service]                            changes as they happen (until Ctrl-C)

Options:
  --json                 one JSON document on stdout (watch: one per line)
  --dry-run              write nothing; show each instance's share now and after
  --wait                 after a write: until every app calling the service applied it (a drain: and finished
                         its calls to the instance), or --timeout
  --etcd host:port,…     default ETCD_HOSTS, then 127.0.0.1:2379
  --namespace /services  the library's namespace option
  --timeout 5s           the longest etcd may take to answer
  --user name:password   etcd auth (the password may come from ETCD_PASSWORD)
  --cacert f [--cert f --key f]   TLS
  --by name  --reason …  who and why, kept in the history
Exit: 0 done; 1 bad input or refused (nothing written); 2 etcd not reachable within --timeout;
      3 written, but --wait saw a caller not apply it within --timeout (or reject it); 4 an unexpected error.
`;
