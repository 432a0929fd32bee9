// The last-commit walks' budgets: how long a page waits for the walk, and how much one background
// run may spend, with the settings that change them (docs/deploy.md).
import type { Env } from "../env";
import { Budget } from "../git/budget";

/** Budgets: how long a page waits for the walk, and how much one background run may spend. */
export const PAGE_WAIT_MS = 300;
export const BACKGROUND_BUDGET = { ms: 20_000, steps: 2_000_000 };
/**
 * Steps (about one a commit) of the directory walk a page runs itself: a history of git/git's
 * size (70,000 commits) fits, a larger one falls back to the push worker's walk.
 */
export const PAGE_STEPS = 100_000;

export interface WalkBudget {
  /** How long a page waits for the walk before it shows what the walk has found so far. */
  pageWaitMs: number;
  /** Time and steps one run of the walk may spend before it keeps its progress for the next. */
  ms: number;
  steps: number;
}

/**
 * The budgets, from the optional LAST_COMMITS_WAIT_MS / _STEPS / _RUN_MS settings (docs/deploy.md)
 * or the defaults above. Tests set them so that whether a page is partial depends on the number of
 * steps, not on how fast the machine is.
 */
export function walkBudget(env: Env): WalkBudget {
  const setting = (name: string, fallback: number) => {
    const raw = env[name];
    const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
    return Number.isFinite(n) && n >= 0 ? n : fallback;
  };
  return {
    pageWaitMs: setting("LAST_COMMITS_WAIT_MS", PAGE_WAIT_MS),
    ms: setting("LAST_COMMITS_RUN_MS", BACKGROUND_BUDGET.ms),
    steps: setting("LAST_COMMITS_STEPS", BACKGROUND_BUDGET.steps),
  };
}

/** One run's budget; `interrupted` also spends it (checked between a run's steps). */
export const runBudget = (b: WalkBudget, interrupted?: () => boolean) =>
  new Budget(Date.now() + b.ms, b.steps, undefined, interrupted);
/** Trees with more paths than this get no last-commit column (the walk would not be bounded). */
export const MAX_PATHS = 150_000;
