/** The turn of the event loop the process is in: advanced once a turn ends in which anyone asked. */
let turn = 0;
/** When the `setImmediate` that ends the current turn was set; undefined while none is. */
let endSetAt: number | undefined;
const endTurn = () => {
  turn += 1;
  endSetAt = undefined;
};

/**
 * A number that is the same for every call made in one turn of the event loop and different in the next: one
 * `setImmediate` a turn for the whole process, whoever asks. An end set over a second ago, or by a clock ahead of this
 * one, counts as lost (a spec's fake timers that never ran it) and is set again, so that a turn never lasts for good.
 */
export function loopTurn(): number {
  const now = performance.now();
  if (endSetAt === undefined || now - endSetAt > 1000 || now < endSetAt) {
    endSetAt = now;
    setImmediate(endTurn);
  }
  return turn;
}
