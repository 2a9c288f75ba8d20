import { Controller, Module, UseGuards, type CanActivate, type DynamicModule, type Type } from '@nestjs/common';
import { messages } from '../discovery.messages.js';
import { DiscoveryOptionsError } from '../errors.js';
import { DashboardRoutes } from './dashboard.controller.js';
import { DashboardState } from './dashboard-state.js';

/** Options of `DiscoveryDashboardModule.forRoot()`. */
export interface DiscoveryDashboardOptions {
  /**
   * Where the page is served; the JSON is at `<path>/api`, the live updates at `<path>/events`. @default '/discovery'
   */
  path?: string;
  /**
   * A Nest guard in front of the page, its JSON and its events (a class, resolved by Nest, or an
   * instance). The page shows every instance's address: put one in front of it in production.
   */
  guard?: Type<CanActivate> | CanActivate;
}

/**
 * A live page of the fleet, served by the app that imports this module: every service under the
 * namespace, its instances (address, zone, version, status, weight, lease age), the patterns each
 * handles, this app's calls per instance, and the last changes. No build step and nothing fetched
 * from elsewhere: one HTML page with its script, and server-sent events. Off unless imported; needs
 * `DiscoveryModule` (global) in the app and an HTTP server (Express or Fastify).
 */
@Module({})
export class DiscoveryDashboardModule {
  static forRoot({ path = '/discovery', guard }: DiscoveryDashboardOptions = {}): DynamicModule {
    if (typeof path !== 'string' || !/^\/?[\w\-./~]*$/.test(path))
      throw new DiscoveryOptionsError(messages.badDashboardPath(path));
    if (
      guard !== undefined &&
      typeof guard !== 'function' &&
      typeof (guard as Partial<CanActivate>)?.canActivate !== 'function'
    ) {
      throw new DiscoveryOptionsError(messages.badDashboardGuard());
    }
    // A class of its own per mount: the path and guard are this mount's, never another app's in the same process.
    class DiscoveryDashboardController extends DashboardRoutes {
      constructor(state: DashboardState) {
        super(state);
      }
    }
    Reflect.defineMetadata('design:paramtypes', [DashboardState], DiscoveryDashboardController);
    Controller(path)(DiscoveryDashboardController);
    if (guard !== undefined) UseGuards(guard)(DiscoveryDashboardController);
    return {
      module: DiscoveryDashboardModule,
      controllers: [DiscoveryDashboardController],
      providers: [DashboardState],
    };
  }
}
