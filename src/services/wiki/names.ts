// The wiki's names and labels: what a page or resource may be called, and which labels a page may
// carry (Featured, Deprecated, and the project's configured Phase:* labels).
import { eq } from "drizzle-orm";
import type { TenantDb } from "../../db/tenant-db";
import { wikiConfig } from "../../db/wiki-schema";
import { badRequest } from "../../utils/errors";

export const MAX_NAME = 100;
export const MAX_TITLE = 200;
export const MAX_BODY = 256 * 1024;
export const MAX_COMMENT = 500;

/**
 * A page's URL name from what someone typed: spaces become `-`; then only letters, digits, `-`
 * and `_` may remain. Null when nothing usable is left or something else is in it.
 */
export function pageNameOf(typed: string): string | null {
  const name = typed.trim().replace(/\s+/g, "-");
  if (!name || name.length > MAX_NAME) return null;
  return /^[\p{L}\p{N}_-]+$/u.test(name) && /[\p{L}\p{N}]/u.test(name) ? name : null;
}

/** pageNameOf, or a 400 that says what a name may hold. */
export function requirePageName(typed: string): string {
  const name = pageNameOf(typed);
  if (!name) {
    throw badRequest(
      `"${typed.slice(0, 40)}" is not a page name: use letters, digits, - and _ (spaces become -), at most ${MAX_NAME} characters.`,
    );
  }
  return name;
}

export const nameKey = (name: string) => name.toLowerCase();

/** The title a new page gets when none is typed: its name with dashes as spaces. */
export const defaultTitle = (name: string) => name.replace(/[-_]+/g, " ").trim() || name;

/** A resource's name: letters, digits, `.`, `-`, `_`, not starting with a dot (image.png, notes-v2.pdf). */
export function requireResourceName(typed: string): string {
  const name = typed.trim().replace(/\s+/g, "-");
  if (!/^[\p{L}\p{N}_-][\p{L}\p{N}._-]{0,99}$/u.test(name)) {
    throw badRequest(`"${typed.slice(0, 40)}" is not a resource name: use letters, digits, ., - and _ (at most 100).`);
  }
  return name;
}

export const DEFAULT_PHASES = ["Draft", "Review", "Stable"];
export const FIXED_LABELS = ["Featured", "Deprecated"];
const PHASE_NAME = /^[\p{L}\p{N}_-]{1,30}$/u;

export function splitLabelText(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** The project's phases (Phase:<name> labels), in the order configured. */
export async function loadPhases(db: TenantDb, projectId: number): Promise<string[]> {
  const row = await db.query.wikiConfig.findFirst({ where: eq(wikiConfig.projectId, projectId) });
  return row ? splitLabelText(row.phases) : DEFAULT_PHASES;
}

/** Sets the project's phases from what an owner typed ("Draft Review Stable"). */
export async function savePhases(db: TenantDb, projectId: number, typed: string): Promise<string[]> {
  const phases = [...new Set(splitLabelText(typed))];
  const bad = phases.find((p) => !PHASE_NAME.test(p));
  if (bad) throw badRequest(`"${bad.slice(0, 40)}" is not a phase: use letters, digits, - and _ (at most 30).`);
  if (phases.length > 20) throw badRequest("Configure at most 20 phases.");
  const value = phases.join(" ");
  await db
    .insert(wikiConfig)
    .values({ projectId, phases: value })
    .onConflictDoUpdate({ target: wikiConfig.projectId, set: { phases: value, updatedAt: new Date().toISOString() } });
  return phases;
}

/** Every label a page of this project may carry. */
export const allowedLabels = (phases: string[]) => [...FIXED_LABELS, ...phases.map((p) => `Phase:${p}`)];

/**
 * The labels as stored (space-separated, in the canonical spelling), from names in any case; a
 * page has at most one Phase. Unknown labels are refused with the list of known ones.
 */
export function normalizeLabels(names: string[], phases: string[]): string {
  const allowed = allowedLabels(phases);
  const out: string[] = [];
  for (const typed of names) {
    const found = allowed.find((a) => a.toLowerCase() === typed.trim().toLowerCase());
    if (!found) throw badRequest(`"${typed.slice(0, 40)}" is not a wiki label here; use ${allowed.join(", ")}.`);
    if (!out.includes(found)) out.push(found);
  }
  if (out.filter((l) => l.startsWith("Phase:")).length > 1)
    throw badRequest("A page is in one phase at a time: pick one Phase label.");
  return out.join(" ");
}

export const labelsOf = (stored: string) => splitLabelText(stored);
