import { SeenHistory } from './seen-history.js';

// How an app tells a member that lost its data from one that restarted with it, by the raft term of
// the first watch answer after an outage of every member: above the term seen before, it kept it.
const header = (revision: number, term: number) => ({ revision, raft_term: term });
const resuming = (nextRevision: number) => ({ nextRevision, epoch: 0 });

describe('SeenHistory after an outage of every member', () => {
  it('etcd back at a higher term, a keepalive answered before the outage was found: no loss', () => {
    const history = new SeenHistory();
    history.saw(header(10, 2));
    history.streamFailed(); // the watch stream's connection closed: the member went down
    history.sawAnswer({ header: { revision: '10', raft_term: '3' } }); // restarted, a keepalive's answer
    history.outage(); // found only now: the watch stream's next dial failed
    expect(history.lostData(header(10, 3), resuming(11))).toBeUndefined();
  });

  it('etcd back at the term seen before the stream failed: its data were lost', () => {
    const history = new SeenHistory();
    history.saw(header(10, 2));
    history.streamFailed();
    history.outage();
    expect(history.lostData(header(12, 2), resuming(11))).toMatch(/outage of every member at raft term 2/);
  });

  it('a failure followed by a working watch: the next outage is judged from the term seen then', () => {
    const history = new SeenHistory();
    history.saw(header(10, 2));
    history.streamFailed();
    expect(history.lostData(header(10, 3), resuming(11))).toBeUndefined(); // back without an outage found
    history.saw(header(10, 3)); // the create answer, once judged
    history.streamFailed();
    history.outage();
    expect(history.lostData(header(11, 3), resuming(11))).toMatch(/at raft term 3, not above/);
  });

  it('a stream that ended with no watch left: its failure says nothing of a later outage', () => {
    const history = new SeenHistory();
    history.saw(header(10, 2));
    history.streamFailed(); // a create left unanswered, its watch cancelled: the stream ended
    history.streamIdle();
    history.sawAnswer({ header: { revision: '12', raft_term: '4' } }); // the cluster went on, at term 4
    history.streamFailed();
    history.outage();
    expect(history.lostData(header(13, 4), resuming(13))).toMatch(/at raft term 4, not above the one seen/);
  });
});
