import { Get, Header, Sse, type MessageEvent } from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import { dashboardPage } from './dashboard-page.js';
import type { DashboardSnapshot } from './dashboard-snapshot.interface.js';
import type { DashboardState } from './dashboard-state.js';

/**
 * The dashboard's routes, relative to where it is mounted: the page, its data as JSON, and the same
 * pushed live. `DiscoveryDashboardModule.forRoot()` mounts a subclass of it at the path it is given
 * (and behind the guard); this class itself is never a controller.
 */
export abstract class DashboardRoutes {
  constructor(private readonly state: DashboardState) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  page(): string {
    return dashboardPage;
  }

  @Get('api')
  @Header('Cache-Control', 'no-store')
  api(): DashboardSnapshot {
    return this.state.snapshot();
  }

  @Sse('events')
  events(): Observable<MessageEvent> {
    return this.state.updates$().pipe(map((snapshot) => ({ data: snapshot })));
  }
}
