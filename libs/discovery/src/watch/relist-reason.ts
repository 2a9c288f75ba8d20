/** Why a watch listed its prefix again: `discovery.relist.reason` of the `discovery.watch.relists` metric. */
export type RelistReason = 'compaction' | 'resync' | 'lost_data';
