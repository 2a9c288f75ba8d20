import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';

/**
 * Lets in requests from this machine only: the example's guard for the discovery dashboard, which
 * shows every instance's address. A real app puts its own authentication here.
 */
@Injectable()
export class LoopbackOnlyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const address =
      context.switchToHttp().getRequest<{ socket: { remoteAddress?: string } }>().socket.remoteAddress ?? '';
    return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
  }
}
