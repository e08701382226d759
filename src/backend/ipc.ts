import type { BackendView } from './request-view.js';

/**
 * Messages between lblab and a backend it forked, over the child-process IPC
 * channel (never an HTTP control port, SPEC "Backends").
 */

/** Faults a backend can be switched into at run time; absent fields are left as they are. */
export type BackendFaults = {
  /** Multiplies every service time; 1 is normal. */
  slowFactor?: number;
  /** Adds this many ms to every service time (the `slow b2=+200ms` form); 0 is normal. */
  slowAddMs?: number;
  /** Fraction (0..1) of requests answered with an error on top of the profile's own error rate. */
  errorRate?: number;
  /** Status of the answers the `errorRate` fault fails (default 500); the profile's own errors stay 500. */
  errorStatus?: 500 | 503;
  /** When true, `/health` answers 503 while traffic is still served (readiness lesson). */
  healthFail?: boolean;
  /**
   * When true, the backend accepts connections and reads requests but answers
   * none, `/health` included (active checks time out: L7TOUT). Requests held
   * when the fault is cleared are answered then, as a process whose stall
   * (GC pause, deadlock, full disk) ended would; clients that gave up meanwhile
   * get nothing.
   */
  hang?: boolean;
  /**
   * When true, every request (not `/health`) gets its response headers and
   * half of its body, then the connection is reset (TCP RST): the process is
   * alive, the data path breaks mid-response.
   */
  reset?: boolean;
  /**
   * Gradual degradation, in ms added to every service time per second since
   * the fault went on (20 → +200 ms after 10 s); 0 = off. Changing a non-zero
   * rate keeps the start time. Capacity queueing still applies, so a
   * degrading backend backs up.
   */
  degradeMsPerSecond?: number;
};

/**
 * `prev` with the switches `next` sets: a field `next` leaves undefined
 * keeps its value (as it would after the IPC message's JSON, which drops
 * undefined). The backend and the fleet's copy of its faults merge alike.
 */
export function mergeFaults<T extends BackendFaults>(prev: T, next: BackendFaults): T {
  const given = Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined)) as BackendFaults;
  return { ...prev, ...given };
}

/** Parent → backend. `recover` clears every fault (and answers requests a hang held); `view` asks what the backend saw of its requests. */
export type ParentMessage = { type: 'fault'; faults: BackendFaults } | { type: 'recover' } | { type: 'view' };

/** Backend → parent: `listening` once the server listens; `view` answers the parent's `view`. */
export type ChildMessage = { type: 'listening'; name: string; port: number; pid: number } | { type: 'view'; view: BackendView };

/** Narrows an unknown IPC payload to a {@link ParentMessage}. */
export function isParentMessage(m: unknown): m is ParentMessage {
  const type = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
  return type === 'fault' || type === 'recover' || type === 'view';
}

/** Narrows an unknown IPC payload to a {@link ChildMessage}. */
export function isChildMessage(m: unknown): m is ChildMessage {
  const type = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
  return type === 'listening' || type === 'view';
}
