/**
 * The actions of HAProxy's `on-marked-down` server option that lblab has:
 * `shutdown-sessions` cuts every request (connection, at L4) a backend holds
 * the moment its health checks mark it DOWN, instead of leaving them to
 * finish or time out (HAProxy: "all connections to the server are
 * immediately terminated when the server goes down").
 */
export const ON_MARKED_DOWN = ['shutdown-sessions'] as const;

/** One of {@link ON_MARKED_DOWN}. */
export type OnMarkedDown = (typeof ON_MARKED_DOWN)[number];
