// Long CPU work cut into slices: a pacer counts the work done and yields to the event loop once a
// slice's budget is spent, so that the isolate's other requests get a turn in between.
//
// Why steps and bytes, not milliseconds: Workers advance the clock only across I/O, so a slice
// cannot be timed from inside. Why it matters locally too: one workerd thread runs every worker
// (edge, push, the Durable Objects), so a long slice anywhere holds up every page of the forge.

/** Lets the isolate's other tasks (requests, timers, I/O callbacks) run before continuing. */
export const yieldToOthers = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export class Pacer {
  private steps = 0;
  private bytes = 0;
  /** How many times it has yielded (what the tests count). */
  yields = 0;
  constructor(
    /** Steps in one slice (objects indexed, entries sorted...). */
    readonly maxSteps: number,
    /** Bytes handled (inflated, hashed, copied) in one slice. */
    readonly maxBytes = Number.POSITIVE_INFINITY,
    private readonly pause: () => Promise<void> = yieldToOthers,
  ) {}

  /**
   * Counts `steps` steps that handled `bytes` bytes. Returns a promise to await when the slice is
   * spent (it resolves once other tasks had their turn), else undefined: no await, no microtask.
   */
  tick(bytes = 0, steps = 1): Promise<void> | undefined {
    this.steps += steps;
    this.bytes += bytes;
    if (this.steps < this.maxSteps && this.bytes < this.maxBytes) return undefined;
    this.steps = 0;
    this.bytes = 0;
    this.yields++;
    return this.pause();
  }
}

/**
 * Work that waits for nothing, counted across everything an isolate runs: reads its caches answer
 * (objects, pack windows) of any store, source or request. Each counter of its own (one per store,
 * one per source) let a page that reads through several of them, or two pages side by side, run
 * up to the sum of their budgets without a turn for anyone else. One budget for the isolate gives a
 * turn after `budget` units, whoever spent them.
 *
 * A read from storage counts too: locally it is a call to Miniflare's simulator on the same thread,
 * which lets no timer run (and no new request in) however long its chain of calls is; on Cloudflare
 * it is real I/O, and the turn costs a timer.
 */
export class TurnBudget {
  private spent = 0;
  /** Turns given (what tests count). */
  turns = 0;
  constructor(
    readonly budget: number,
    private readonly pause: () => Promise<void> = yieldToOthers,
  ) {}

  /** A turn now, whatever was spent (the count starts again after it). */
  turn(): Promise<void> {
    this.spent = 0;
    this.turns++;
    return this.pause();
  }

  /** Counts `units`; once the budget is spent, returns the turn to await, else undefined (no await, no microtask). */
  spend(units = 1): Promise<void> | undefined {
    this.spent += units;
    if (this.spent < this.budget) return undefined;
    return this.turn();
  }
}

/** Units of `isolateTurns` between two turns: 64 reads served from the isolate's caches. */
export const TURN_UNITS = 64;
/**
 * What one call into storage counts in `isolateTurns` (a ranged R2 read in `storage/r2-source.ts`,
 * a request's whole R2 GET in `obs/meter.ts`, a Cache API call in `obs/edge-cache.ts`): locally
 * each is a chain of calls into Miniflare's simulator on the one workerd thread, which lets no
 * timer run and no other request in. Not a whole turn each: that made a cold page's stretches
 * between turns 1.4 to 2.7x shorter but left the warm page's p50 where it was, and each turn made
 * workerd give its core away, so on a loaded machine cold pages took 1.3 to 3x as long (bench/
 * scale-results.md, s11-warm).
 */
export const STORAGE_READ_UNITS = 8;

/** The isolate's budget: every object store, windowed source and storage call of every request spends from it. */
export const isolateTurns = new TurnBudget(TURN_UNITS);

/**
 * Steps of a walk over commit-graph positions (parents read from graph pages in memory: no
 * inflate, no id decoded) per unit of `isolateTurns`: a turn every 1,024 steps when nothing else
 * spends. A walk from every ref of long70k (70,000 commits) ran 4,096 steps between its own turns,
 * 14 to 24 ms of the thread at a time, the longest stretch of a cold log page (bench/
 * scale-results.md, s13-logwarm).
 */
export const GRAPH_STEPS_PER_UNIT = 16;

/**
 * Counts the `steps`-th step of a loop whose steps are worth 1/`perUnit` of a unit of
 * `isolateTurns`: the turn to await when one is due.
 */
export const loopStep = (steps: number, perUnit: number): Promise<void> | undefined =>
  steps % perUnit === 0 ? isolateTurns.spend() : undefined;

/** Counts the `steps`-th step of a walk over graph positions: the turn to await when one is due. */
export const graphStep = (steps: number): Promise<void> | undefined => loopStep(steps, GRAPH_STEPS_PER_UNIT);

/**
 * One piece of work written once for a synchronous and a paced caller: a generator that yields
 * what it did since its last yield (`steps`, `bytes`) and returns its result.
 */
export type Sliced<T> = Generator<{ steps: number; bytes?: number }, T, void>;

/** Runs sliced work to its end at once (for callers that cannot await). */
export function runAtOnce<T>(work: Sliced<T>): T {
  for (;;) {
    const r = work.next();
    if (r.done) return r.value;
  }
}

/** Runs sliced work, yielding to other tasks whenever the pacer's slice is spent. */
export async function runPaced<T>(work: Sliced<T>, pacer: Pacer): Promise<T> {
  for (;;) {
    const r = work.next();
    if (r.done) return r.value;
    const paused = pacer.tick(r.value.bytes ?? 0, r.value.steps);
    if (paused) await paused;
  }
}
