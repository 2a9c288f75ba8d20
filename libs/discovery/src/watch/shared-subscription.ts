import type { Observable, Subscriber, TeardownLogic } from 'rxjs';

/** Subscribes `subscriber` to a shared watch's `stream`, counting it; `lastLeft` runs when the count returns to 0. */
export function countSubscriber<T>(
  handle: { subscribers: number },
  stream: Observable<T>,
  subscriber: Subscriber<T>,
  lastLeft: () => void,
): TeardownLogic {
  handle.subscribers += 1;
  const subscription = stream.subscribe(subscriber);
  return () => {
    subscription.unsubscribe();
    handle.subscribers -= 1;
    if (handle.subscribers === 0) lastLeft();
  };
}
