/**
 * How the fleet bench's workers report that an app saw a probe: timed when it happens, written
 * together once the apps of the process have handled the delivery. A stdout write per app (a
 * syscall each, 125 per change) was half of what a worker spent on a change, and it delayed the
 * apps after it: the bench's cost, not what it measures.
 */
const sightings: string[] = [];

export function reportSeen(probe: string): void {
  if (sightings.length === 0) setImmediate(flushSightings);
  sightings.push(JSON.stringify({ event: 'seen', probe, at: performance.timeOrigin + performance.now() }));
}

function flushSightings(): void {
  process.stdout.write(`${sightings.join('\n')}\n`);
  sightings.length = 0;
}
