/** A backend's health as the balancer sees it. */
export type HealthState = 'up' | 'down';

/**
 * The rise/fall health counter of HAProxy's `check` (src/check.c): a counter
 * runs 0 … rise+fall−1 and the server is UP while it is ≥ rise. A failed check
 * lowers it by one, and once it falls below rise it drops to 0 (DOWN); a
 * passed check raises it by one, and on reaching rise it jumps to the top
 * (UP). So UP→DOWN takes `fall` consecutive failures and DOWN→UP `rise`
 * consecutive passes.
 *
 * It starts at the top ("fully up", HAProxy `init-state fully-up`): lblab only
 * adds a backend it was told about, and a single failed first check should
 * not take it out.
 */
export class RiseFall {
  private count: number;

  /** @throws {RangeError} unless rise and fall are whole numbers ≥ 1. */
  constructor(
    readonly rise: number,
    readonly fall: number,
  ) {
    if (!Number.isInteger(rise) || !Number.isInteger(fall) || rise < 1 || fall < 1) {
      throw new RangeError(`rise and fall must be whole numbers ≥ 1, got rise ${rise}, fall ${fall}`);
    }
    this.count = rise + fall - 1;
  }

  /** The counter itself, 0 (fully DOWN) … rise+fall−1 (fully UP), as HAProxy's `check->health`. */
  get counter(): number {
    return this.count;
  }

  /** `up` while the counter is ≥ rise. */
  get state(): HealthState {
    return this.count >= this.rise ? 'up' : 'down';
  }

  /** The counter as HAProxy's stats page shows it: "3/3" fully up, "0/2" fully down. */
  get display(): string {
    return this.state === 'up'
      ? `${this.count - this.rise + 1}/${this.fall}`
      : `${this.count}/${this.rise}`;
  }

  /** Feeds one check result; returns the new state if it changed, else undefined. */
  observe(passed: boolean): HealthState | undefined {
    const before = this.state;
    const top = this.rise + this.fall - 1;
    if (passed) {
      this.count = this.count + 1 >= this.rise ? top : this.count + 1;
    } else {
      this.count = this.count - 1 < this.rise ? 0 : this.count - 1;
    }
    const after = this.state;
    return after === before ? undefined : after;
  }
}
