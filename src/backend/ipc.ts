/**
 * Messages between lblab and a backend it forked, over the child-process IPC
 * channel (never an HTTP control port, SPEC "Backends").
 */

/** Faults a backend can be switched into at run time; absent fields are left as they are. */
export type BackendFaults = {
  /** Multiplies every service time; 1 is normal. */
  slowFactor?: number;
  /** Fraction (0..1) of requests answered with 500 on top of the profile's own error rate. */
  errorRate?: number;
  /** When true, `/health` answers 503 while traffic is still served (readiness lesson). */
  healthFail?: boolean;
};

/** Parent → backend. `recover` clears every fault. */
export type ParentMessage = { type: 'fault'; faults: BackendFaults } | { type: 'recover' };

/** Backend → parent, sent once the server listens. */
export type ChildMessage = { type: 'listening'; name: string; port: number; pid: number };

/** Narrows an unknown IPC payload to a {@link ParentMessage}. */
export function isParentMessage(m: unknown): m is ParentMessage {
  return typeof m === 'object' && m !== null && ((m as { type?: unknown }).type === 'fault' || (m as { type?: unknown }).type === 'recover');
}

/** Narrows an unknown IPC payload to a {@link ChildMessage}. */
export function isChildMessage(m: unknown): m is ChildMessage {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'listening';
}
