/**
 * What the clients saw after each kill of a balancer (`--balancers 2`):
 * the errors of the responses that completed from the kill to the next one
 * (or the end), and when the first request sent after the kill got a
 * response that was not an error — the clients' side of the takeover.
 * Times in ms since the run's time 0.
 */
export class FailoverTally {
  private readonly marks: Array<{ atMs: number; errors: number; sentAfter: number; firstOkAtMs: number | undefined }> = [];

  /** Starts counting for a kill at `atMs`. */
  mark(atMs: number): void {
    this.marks.push({ atMs, errors: 0, sentAfter: 0, firstOkAtMs: undefined });
  }

  /** One completed request: sent at `sentAtMs`, done at `doneAtMs`, failed (transport error or 5xx) or not. */
  record(sentAtMs: number, doneAtMs: number, failed: boolean): void {
    const marks = this.marks;
    for (let i = marks.length - 1; i >= 0; i--) {
      const m = marks[i]!;
      if (m.atMs > doneAtMs) continue;
      if (failed) {
        m.errors++;
        if (sentAtMs >= m.atMs) m.sentAfter++;
      } else if (m.firstOkAtMs === undefined && sentAtMs >= m.atMs) m.firstOkAtMs = doneAtMs;
      return;
    }
  }

  /**
   * Per kill, in order: its time, the client errors from it to the next
   * kill and how many of them were of requests sent after it (not in flight
   * at the kill), and ms until the first good response to a request sent
   * after it (null: none came).
   */
  summary(): Array<{ atMs: number; clientErrors: number; errorsSentAfter: number; firstResponseMs: number | null }> {
    return this.marks.map((m) => ({ atMs: m.atMs, clientErrors: m.errors, errorsSentAfter: m.sentAfter, firstResponseMs: m.firstOkAtMs === undefined ? null : Math.round(m.firstOkAtMs - m.atMs) }));
  }
}
