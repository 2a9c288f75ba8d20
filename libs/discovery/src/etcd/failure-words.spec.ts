import { EtcdPermissionDeniedError, GRPCUnavailableError } from 'etcd3';
import { formatDuration } from '../util/format-duration.js';
import { describeEtcdFailure } from './failure-words.js';

const hosts = ['127.0.0.1:2379'];

describe('describeEtcdFailure', () => {
  it.each([
    [
      new GRPCUnavailableError(
        '14 UNAVAILABLE: No connection established. ' +
          'Last error: Error: connect ECONNREFUSED 127.0.0.1:2379. Resolution note: ',
      ),
      'etcd at 127.0.0.1:2379 is unreachable: connection refused',
    ],
    [new Error('Execution prevented because the circuit breaker is open'), 'etcd at 127.0.0.1:2379 is unreachable'],
    [new Error('4 DEADLINE_EXCEEDED: Deadline exceeded after 5.001s'), 'etcd at 127.0.0.1:2379 did not answer in time'],
    [
      new GRPCUnavailableError(
        '14 UNAVAILABLE: No connection established. ' +
          'Last error: Error: getaddrinfo ENOTFOUND etcd.internal. Resolution note: ',
      ),
      'etcd host etcd.internal cannot be resolved (DNS)',
    ],
    [
      new GRPCUnavailableError(
        '14 UNAVAILABLE: No connection established. ' +
          'Last error: Error: self-signed certificate in certificate chain. Resolution note: ',
      ),
      'etcd at 127.0.0.1:2379: the TLS handshake failed (self-signed certificate in certificate chain)',
    ],
    [new GRPCUnavailableError('14 UNAVAILABLE: read ECONNRESET'), 'etcd at 127.0.0.1:2379 closed the connection'],
    [
      new EtcdPermissionDeniedError('etcdserver: permission denied'),
      'etcd at 127.0.0.1:2379 refused the request: etcdserver: permission denied',
    ],
    [new TypeError('something else'), 'TypeError: something else'],
  ])('%s', (error, words) => {
    expect(describeEtcdFailure(error, hosts)).toBe(words);
  });

  it('never repeats gRPC status text or the circuit breaker', () => {
    const words = describeEtcdFailure(
      new Error('14 UNAVAILABLE: No connection established. Last error: null. Resolution note: '),
      hosts,
    );
    expect(words).toBe('etcd at 127.0.0.1:2379 is unreachable');
  });
});

describe('delay', () => {
  it.each([
    [38.4, '38 ms'],
    [1626, '1.6 s'],
    [30_000, '30 s'],
  ])('%i ms → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
