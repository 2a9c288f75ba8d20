import type { CallOptions, Client, Metadata } from '@grpc/grpc-js';
import { isBrokenCircuitError, type IPolicy } from 'cockatiel';
import { EtcdInvalidAuthTokenError, type CallContext, type CallOptionsFactory } from 'etcd3';
import type { EtcdMember } from './etcd-member.js';
import type { EtcdServiceName } from './etcd-services.js';
import type { EtcdToken } from './etcd-token.js';
import { membersInTryOrder } from './member-order.js';
import type { SeenHistory } from './seen-history.js';
import { resolveCallOptions, unaryCall } from './unary-call.js';

/** What a unary call needs of `EtcdConnections`. */
export interface UnaryConnections {
  readonly members: readonly EtcdMember[];
  readonly token: EtcdToken;
  readonly callOptionsFactory: CallOptionsFactory | undefined;
  readonly history: SeenHistory;
  withConnection<R>(
    service: EtcdServiceName,
    fn: (args: { client: Client; metadata: Metadata }) => Promise<R>,
    order: Iterator<EtcdMember>,
    requireLeader: boolean,
  ): Promise<R>;
}

export interface UnaryRequest {
  service: EtcdServiceName;
  method: string;
  params: unknown;
  options: CallOptions | undefined;
}

/**
 * One unary call: through the global policy (retries), each attempt on the next member in a
 * shuffled order (`EtcdConnections.withConnection`). A token etcd no longer knows is renewed and the
 * call made once more — out here, not inside the member's policy: a call made from within a circuit
 * breaker's half-open trial would wait for that trial, which waits for it, and every later call
 * would wait behind both (etcd3's pool does just that).
 */
export async function execUnary<T>(
  connections: UnaryConnections,
  globalPolicy: IPolicy,
  request: UnaryRequest,
): Promise<T> {
  const sent: { metadata?: Metadata } = {};
  try {
    return await execOnce<T>(connections, globalPolicy, request, sent);
  } catch (error) {
    if (!(error instanceof EtcdInvalidAuthTokenError)) throw error;
    connections.token.invalidate(sent.metadata);
    return execOnce<T>(connections, globalPolicy, request, sent);
  }
}

async function execOnce<T>(
  connections: UnaryConnections,
  globalPolicy: IPolicy,
  request: UnaryRequest,
  sent: { metadata?: Metadata },
): Promise<T> {
  const { service, method, params, options } = request;
  const order = membersInTryOrder(connections.members);
  const context = { service, method, params, isStream: false } as CallContext;
  let lastError: unknown;
  try {
    return await globalPolicy.execute(() =>
      connections.withConnection(
        service,
        ({ client, metadata }) => {
          sent.metadata = metadata;
          return unaryCall<T>(
            client,
            method,
            params,
            metadata,
            resolveCallOptions(options, connections.callOptionsFactory, context),
          ).then(
            (answer) => {
              connections.history.sawAnswer(answer);
              return answer;
            },
            (error: unknown) => {
              lastError = error;
              throw error;
            },
          );
        },
        order,
        isSerializableRead(params),
      ),
    );
  } catch (error) {
    // An open circuit says less than the error that opened it.
    if (isBrokenCircuitError(error) && lastError !== undefined && !isBrokenCircuitError(lastError))
      throw lastError as Error;
    throw error;
  }
}

/**
 * A read any member answers from what it has (a range, or a transaction of ranges, marked
 * serializable): sent with the require-leader flag, so that a member cut off from its cluster refuses
 * it rather than answer from stale data.
 */
function isSerializableRead(params: unknown): boolean {
  const request = params as { serializable?: boolean; success?: { request_range?: { serializable?: boolean } }[] };
  if (request.serializable === true) return true;
  return (
    Array.isArray(request.success) &&
    request.success.length > 0 &&
    request.success.every((operation) => operation.request_range?.serializable === true)
  );
}
