/**
 * A timer's action, run once the I/O that arrived meanwhile has been read: Node runs due timers
 * before it polls sockets, so after a pause of this process (a GC, a busy loop) an answer already
 * received would otherwise lose to its own timeout, or set off a hedge it made needless. Measured:
 * such needless hedges after 20–50 ms pauses fed storms of hedges and new connections; this makes
 * them rarer (the repository README, Performance, "Calls").
 */
export const afterIo = (action: () => void) => () => void setImmediate(action);
