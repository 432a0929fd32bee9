// How much work a history walk may do before it returns what it has. Workers advance the clock
// only across I/O, so a deadline alone does not bound a walk that runs from cache: count steps too.

export class Budget {
  private steps = 0;
  constructor(
    /** Milliseconds since the epoch. */
    readonly deadline = Infinity,
    readonly maxSteps = Infinity,
  ) {}

  static unlimited(): Budget {
    return new Budget();
  }

  /** Counts one step; true once the budget is spent. */
  spend(): boolean {
    this.steps++;
    return this.steps > this.maxSteps || (this.steps % 16 === 0 && Date.now() > this.deadline);
  }

  get used(): number {
    return this.steps;
  }
}
