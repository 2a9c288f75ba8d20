import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import { assertServiceName } from '../options/validation.js';

/** Where a `DiscoveryClient.fetch()` goes: the service its host names, and what to ask an instance of it. */
export interface FetchTarget {
  service: string;
  protocol: 'http:' | 'https:';
  /** Path and query, as given. */
  path: string;
}

/** URLs kept parsed: an app calls the same few URLs over and over; past this many distinct ones it starts afresh. */
const KEPT = 512;

/**
 * Parses the URLs given to `fetch()`, once each: parsing one costs as much as the rest of the
 * library's part of a request, and undici parses the instance's URL again anyway.
 */
export class FetchTargets {
  private readonly parsed = new Map<string, FetchTarget>();

  of(input: string | URL): FetchTarget {
    const text = typeof input === 'string' ? input : input.href;
    let target = this.parsed.get(text);
    if (target === undefined) {
      target = parse(text);
      if (this.parsed.size >= KEPT) this.parsed.clear();
      this.parsed.set(text, target);
    }
    return target;
  }
}

function parse(text: string): FetchTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DiscoveryOptionsError(messages.badFetchUrl(text));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new DiscoveryOptionsError(messages.badFetchUrl(text));
  assertServiceName(url.hostname, 'DiscoveryClient.fetch()');
  return { service: url.hostname, protocol: url.protocol, path: `${url.pathname}${url.search}` };
}
