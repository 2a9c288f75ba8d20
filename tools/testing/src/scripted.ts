/** A random source that gives `values` in turn, then starts over: strategies' choices made predictable. */
export function scripted(values: readonly number[]): () => number {
  let next = 0;
  return () => values[next++ % values.length];
}
