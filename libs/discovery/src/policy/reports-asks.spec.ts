import { ReportsAsks } from './reports-asks.js';

describe("the CLI's asks for reports, as an app's watch reads them", () => {
  it('tells each new ask, and one made while the watch was away; not the first list, not a deletion', () => {
    const asks = new ReportsAsks();
    let told = 0;
    asks.asked.add(() => (told += 1));
    asks.read('{"at":"1"}', false); // the first list: whatever was asked before the app started
    expect(told).toBe(0);
    asks.read('{"at":"2"}', true);
    asks.read('{"at":"2"}', true); // written again with the same text: a new ask all the same
    expect(told).toBe(2);
    asks.read('{"at":"2"}', false); // a re-list that finds the same ask
    expect(told).toBe(2);
    asks.read('{"at":"3"}', false); // a re-list that finds another: asked while the watch was away
    expect(told).toBe(3);
    asks.read('', true); // deleted
    expect(told).toBe(3);
  });
});
