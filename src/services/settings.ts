// Forge-wide settings a tenant admin controls (the forge's name lives in its tenant record).
import { inArray, sql } from "drizzle-orm";
import type { TenantDb } from "../db/tenant-db";
import { settings } from "../db/schema";

export type Registration = "open" | "closed";
export type ProjectCreation = "admins" | "users";

export interface ForgeSettings {
  /** open: anyone may create an account; closed: only admins add people. */
  registration: Registration;
  /** Who may create projects. */
  projectCreation: ProjectCreation;
  /** Markdown shown above the project list on the front page. */
  frontPage: string;
}

export const DEFAULT_SETTINGS: ForgeSettings = { registration: "open", projectCreation: "admins", frontPage: "" };

const KEYS = { registration: "registration", projectCreation: "project_creation", frontPage: "front_page" } as const;

/** The query of getSettings, for a page that reads them in one batch with its other queries. */
export const settingsQuery = (db: TenantDb) =>
  db
    .select()
    .from(settings)
    .where(inArray(settings.key, Object.values(KEYS)));

export async function getSettings(db: TenantDb): Promise<ForgeSettings> {
  return settingsFrom(await settingsQuery(db));
}

/** The settings in the rows of settingsQuery (defaults for those not set). */
export function settingsFrom(rows: { key: string; value: string }[]): ForgeSettings {
  const value = (k: string) => rows.find((r) => r.key === k)?.value;
  const registration = value(KEYS.registration);
  const projectCreation = value(KEYS.projectCreation);
  return {
    registration: registration === "closed" || registration === "open" ? registration : DEFAULT_SETTINGS.registration,
    projectCreation:
      projectCreation === "users" || projectCreation === "admins" ? projectCreation : DEFAULT_SETTINGS.projectCreation,
    frontPage: value(KEYS.frontPage) ?? DEFAULT_SETTINGS.frontPage,
  };
}

export async function updateSettings(db: TenantDb, patch: Partial<ForgeSettings>): Promise<ForgeSettings> {
  const entries = (Object.keys(KEYS) as (keyof ForgeSettings)[])
    .filter((k) => patch[k] !== undefined)
    .map((k) => ({ key: KEYS[k], value: String(patch[k]) }));
  if (entries.length > 0) {
    await db
      .insert(settings)
      .values(entries)
      .onConflictDoUpdate({ target: settings.key, set: { value: sql`excluded.value` } });
  }
  return getSettings(db);
}
