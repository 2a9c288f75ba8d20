import { EtcdAuthenticationFailedError, EtcdPermissionDeniedError } from 'etcd3';

/**
 * etcd refused the credentials or the permission: retrying will not cure it, so start-up fails at
 * once with what to fix instead of waiting out its timeout.
 */
export function isRefusal(error: unknown): boolean {
  return error instanceof EtcdAuthenticationFailedError || error instanceof EtcdPermissionDeniedError;
}
