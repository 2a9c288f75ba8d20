import { Listeners } from '../util/listeners.js';

/**
 * The CLI's asks for the callers' reports (`reportsAskedKey`), as an app's watch of the policy prefix reads them:
 * each new ask is told — also one made while the watch was away, found by the re-list after it.
 */
export class ReportsAsks {
  readonly asked = new Listeners();
  /** The ask as last read (empty: none); undefined before the first list. */
  private text: string | undefined;

  /** The ask's value as read; `changed`: written in the response that brings it (a new ask, even of the same text). */
  read(text: string, changed: boolean): void {
    if (text !== '' && (changed || (this.text !== undefined && text !== this.text))) this.asked.tell();
    this.text = text;
  }
}
