import type { CallOptions, Client, Metadata, ServiceError } from '@grpc/grpc-js';
import { castGrpcError, type CallContext, type CallOptionsFactory } from 'etcd3';

type UnaryMethod = (
  params: unknown,
  metadata: Metadata,
  options: CallOptions,
  callback: (error: ServiceError | null, response: unknown) => void,
) => void;

/** One unary call, as a promise that rejects with etcd3's error class for the gRPC error (`castGrpcError`). */
export function unaryCall<T>(
  client: Client,
  method: string,
  params: unknown,
  metadata: Metadata,
  options: CallOptions | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, UnaryMethod>)[method].call(
      client,
      params,
      metadata,
      options ?? {},
      (error, response) => {
        if (error) reject(castGrpcError(error));
        else resolve(response as T);
      },
    );
  });
}

/**
 * The options of one call: the call's own over the defaults (`etcd.defaultCallOptions`, an object
 * or a function of the call), shallow-merged, as etcd3 does.
 */
export function resolveCallOptions(
  own: CallOptions | undefined,
  defaults: CallOptionsFactory | undefined,
  context: CallContext,
): CallOptions | undefined {
  if (defaults === undefined) return own;
  const resolved = typeof defaults === 'function' ? defaults(context) : defaults;
  return own ? { ...resolved, ...own } : resolved;
}
