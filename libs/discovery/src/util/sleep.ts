/** A delay that `cancel()` ends early (at shutdown), so that no backoff timer outlives the app. */
export function cancellableSleep(ms: number): { done: Promise<void>; cancel: () => void } {
  let cancel: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    cancel = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, cancel };
}
