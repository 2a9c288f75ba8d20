/** `metrics` of `DiscoveryModuleOptions`. */
export interface MetricsOptions {
  /** Attempts and ejections by instance (`server.address`) as well as by service. @default false */
  perInstance?: boolean;
}
