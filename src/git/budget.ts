// How much work a history walk may do before it returns what it has. Workers advance the clock
// only across I/O, so a deadline alone does not bound a walk that runs from cache: count steps too.
// Long walks also yield now and then, so that the other requests of the isolate are not held up.

/** Steps between two yields to the event loop. */
const YIELD_EVERY = 32;

export class Budget {
  private steps = 0;
  /** The deadline ended the walk (its result depends on timing, not only on the input). */
  outOfTime = false;
  constructor(
    /** Milliseconds since the epoch. */
    readonly deadline = Infinity,
    readonly maxSteps = Infinity,
    /** Steps between two yields: a walk that answers its own request may yield less often. */
    private readonly yieldEvery = YIELD_EVERY,
    /** Spends the budget while it says so (seen by `spent`, between a run's steps, not within one). */
    private readonly interrupted?: () => boolean,
  ) {}

  /** Counts one step; true once the budget is spent. */
  spend(): boolean {
    this.steps++;
    if (this.steps > this.maxSteps) return true;
    if (this.steps % 16 === 0 && Date.now() > this.deadline) this.outOfTime = true;
    return this.outOfTime;
  }

  /** Counts one step, yielding to other work every so often; true once the budget is spent. */
  async step(): Promise<boolean> {
    if (this.steps % this.yieldEvery === this.yieldEvery - 1) await yieldToOthers();
    return this.spend();
  }

  get used(): number {
    return this.steps;
  }

  /** Whether a walk given this budget now would stop at once (steps or deadline spent, or interrupted). */
  get spent(): boolean {
    return this.steps >= this.maxSteps || this.outOfTime || Date.now() > this.deadline || this.interrupted?.() === true;
  }
}

/** Lets the isolate's other requests (and timers) run: reads served from cache never do. */
export const yieldToOthers = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
