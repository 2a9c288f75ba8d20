/** Renew a JWT after this share of its life: clocks differ a little, and a call takes a while. */
const RENEW_AFTER = 0.8;

/**
 * When to ask for a new token: etcd's JWT tokens (`--auth-token=jwt,…`) say when they expire (their
 * `exp` claim, in seconds), so they are renewed before that. A simple token (`random.index`) says
 * nothing: etcd keeps it while it is used, and drops it after `--auth-token-ttl` unused — the call
 * that finds it gone renews it. A JWT whose `exp` is already past here (clocks apart) is treated alike.
 */
export function tokenRenewalTime(token: string, receivedAt: number): number {
  const parts = token.split('.');
  if (parts.length !== 3) return Infinity;
  try {
    const { exp } = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown };
    if (typeof exp !== 'number' || exp * 1000 <= receivedAt) return Infinity;
    return receivedAt + RENEW_AFTER * (exp * 1000 - receivedAt);
  } catch {
    return Infinity;
  }
}
