// A project's labels as Gitea's API sees them: each with a stable id (derived from its lowercase
// name, so nothing is written to give one) and a color (stored when set, else derived from its
// class); and the label changes that API makes (create, edit, delete), kept in the tracker's
// own configuration so its pages and forms offer the same labels.
import { and, eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { TenantDb } from "../../db/tenant-db";
import { issueConfig, issueLabelColors, issueLabels } from "../../db/schema";
import { labelClass, labelKey, loadConfigText, parseConfig, type TrackerConfig } from "../issues/config";
import { ForgeError } from "../../utils/errors";

export interface GiteaLabelInfo {
  id: number;
  name: string;
  description: string;
  /** rrggbb, without '#', as Gitea answers it. */
  color: string;
  exclusive: boolean;
}

/**
 * The id of a label: FNV-1a of its lowercase name, in [1, 2^31). The same name has the same id
 * in every project and across renames of nothing else; two of a project's labels (at most a few
 * hundred) share an id with odds below 1 in 10^5, and then the first by name wins.
 */
export function labelId(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(labelKey(name))) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff || 1;
}

/** Colors for labels nobody colored: one per class (labels of a class look alike), from a fixed palette. */
const PALETTE = ["e11d21", "eb6420", "fbca04", "009800", "006b75", "207de5", "0052cc", "5319e7", "cc317c", "84b6eb"];
export const defaultColor = (name: string) => PALETTE[labelId(labelClass(name) ?? name) % PALETTE.length]!;

/** `#rrggbb`, `rrggbb` or `#rgb` to rrggbb; a 422 otherwise. */
export function parseColor(value: string): string {
  const m = /^#?([0-9a-f]{6}|[0-9a-f]{3})$/i.exec(value.trim());
  if (!m) throw new ForgeError("validation_failed", `color: "${value}" is not a color; send #rrggbb.`);
  const hex = m[1]!.toLowerCase();
  return hex.length === 3 ? [...hex].map((c) => c + c).join("") : hex;
}

async function colorsOf(db: TenantDb, projectId: number): Promise<Map<string, string>> {
  const rows = await db.select().from(issueLabelColors).where(eq(issueLabelColors.projectId, projectId));
  return new Map(rows.map((r) => [r.nameKey, r.color.replace(/^#/, "")]));
}

const info = (config: TrackerConfig, colors: Map<string, string>, name: string): GiteaLabelInfo => {
  const cls = labelClass(name);
  const predefined = config.labels.find((l) => labelKey(l.name) === labelKey(name));
  return {
    id: labelId(name),
    name: predefined?.name ?? name,
    description: predefined?.description ?? "",
    color: colors.get(labelKey(name)) ?? defaultColor(name),
    exclusive: cls !== null && config.oneValueClasses.includes(cls),
  };
};

/** What a mapper needs to show any label of the project: call once per request. */
export async function labelInfo(db: TenantDb, projectId: number, config: TrackerConfig) {
  const colors = await colorsOf(db, projectId);
  return (name: string) => info(config, colors, name);
}

/** The project's predefined labels (Gitea's repository labels), in the configured order. */
export async function listLabels(db: TenantDb, projectId: number, config: TrackerConfig): Promise<GiteaLabelInfo[]> {
  const show = await labelInfo(db, projectId, config);
  return config.labels.map((l) => show(l.name));
}

/**
 * Label names for what a Gitea client sends: ids (of predefined labels or labels some issue of
 * the project carries) or names. An id that names none is a 422 that says which.
 */
export async function resolveLabels(
  db: TenantDb,
  projectId: number,
  config: TrackerConfig,
  refs: (number | string)[],
): Promise<string[]> {
  const ids = refs.filter((r): r is number => typeof r === "number");
  const byId = new Map<number, string>();
  if (ids.length) {
    const used = await db
      .selectDistinct({ name: issueLabels.name })
      .from(issueLabels)
      .where(eq(issueLabels.projectId, projectId))
      .orderBy(issueLabels.nameKey);
    for (const name of [...config.labels.map((l) => l.name), ...used.map((u) => u.name)]) {
      if (!byId.has(labelId(name))) byId.set(labelId(name), name);
    }
  }
  return refs.map((r) => {
    if (typeof r === "string") return r;
    const name = byId.get(r);
    if (!name) throw new ForgeError("validation_failed", `labels: there is no label with id ${r} in this repository.`);
    return name;
  });
}

/** The predefined label with this id, or a 404. */
export function labelById(config: TrackerConfig, id: number): string {
  const found = config.labels.find((l) => labelId(l.name) === id);
  if (!found) throw new ForgeError("not_found", `There is no label with id ${id} in this repository.`);
  return found.name;
}

export interface LabelPatch {
  name?: string;
  description?: string;
  color?: string;
  exclusive?: boolean;
}

const line = (name: string, description: string) => (description ? `${name} = ${description.replace(/\r?\n/g, " ")}` : name);

/**
 * Creates (`current` null) or changes a predefined label: its line in the tracker configuration,
 * its class's one-value setting (`exclusive`), its color, and on a rename the issues that carry
 * it, in one batch. Names follow the tracker's rules (Name or Class:Name); a 422 says why not.
 */
export async function saveLabel(
  db: TenantDb,
  projectId: number,
  current: string | null,
  patch: LabelPatch,
): Promise<GiteaLabelInfo> {
  const text = await loadConfigText(db, projectId);
  const config = parseConfig(text);
  const name = (patch.name ?? current ?? "").trim();
  const old = current ? config.labels.find((l) => labelKey(l.name) === labelKey(current)) : undefined;
  const clash = config.labels.find((l) => labelKey(l.name) === labelKey(name));
  if (clash && clash !== old) throw new ForgeError("conflict", `A label named ${clash.name} exists already.`);
  const description = patch.description ?? old?.description ?? "";
  const lines = config.labels.map((l) => line(l.name, l.description));
  if (old) lines[config.labels.indexOf(old)] = line(name, description);
  else lines.push(line(name, description));
  const cls = labelClass(name);
  let classes = config.oneValueClasses;
  if (cls !== null && patch.exclusive !== undefined) {
    classes = patch.exclusive ? [...new Set([...classes, cls])] : classes.filter((c) => c !== cls);
  }
  const next = { ...text, labels: lines.join("\n"), oneValueClasses: classes.join(", ") };
  let checked: TrackerConfig;
  try {
    checked = parseConfig(next);
  } catch (err) {
    throw new ForgeError("validation_failed", `name: ${(err as Error).message}`);
  }
  const color = patch.color !== undefined ? parseColor(patch.color) : undefined;
  const statements: BatchItem<"sqlite">[] = [
    db
      .insert(issueConfig)
      .values({ projectId, ...next })
      .onConflictDoUpdate({ target: issueConfig.projectId, set: { ...next, updatedAt: new Date().toISOString() } }),
  ];
  const renamed = old && labelKey(old.name) !== labelKey(name);
  if (old && old.name !== name) {
    statements.push(
      db
        .update(issueLabels)
        .set({ name, nameKey: labelKey(name) })
        .where(and(eq(issueLabels.projectId, projectId), eq(issueLabels.nameKey, labelKey(old.name)))),
    );
  }
  if (renamed) {
    statements.push(
      db
        .update(issueLabelColors)
        .set({ nameKey: labelKey(name) })
        .where(and(eq(issueLabelColors.projectId, projectId), eq(issueLabelColors.nameKey, labelKey(old.name)))),
    );
  }
  if (color !== undefined) {
    statements.push(
      db
        .insert(issueLabelColors)
        .values({ projectId, nameKey: labelKey(name), color: `#${color}` })
        .onConflictDoUpdate({ target: [issueLabelColors.projectId, issueLabelColors.nameKey], set: { color: `#${color}` } }),
    );
  }
  await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
  return (await labelInfo(db, projectId, checked))(name);
}

/** Deletes a predefined label: from the configuration, its color, and from every issue of the project. */
export async function deleteLabel(db: TenantDb, projectId: number, name: string): Promise<void> {
  const text = await loadConfigText(db, projectId);
  const config = parseConfig(text);
  const labels = config.labels.filter((l) => labelKey(l.name) !== labelKey(name)).map((l) => line(l.name, l.description));
  const next = { ...text, labels: labels.join("\n") };
  const key = labelKey(name);
  await db.batch([
    db
      .insert(issueConfig)
      .values({ projectId, ...next })
      .onConflictDoUpdate({ target: issueConfig.projectId, set: { ...next, updatedAt: new Date().toISOString() } }),
    db.delete(issueLabels).where(and(eq(issueLabels.projectId, projectId), eq(issueLabels.nameKey, key))),
    db.delete(issueLabelColors).where(and(eq(issueLabelColors.projectId, projectId), eq(issueLabelColors.nameKey, key))),
  ]);
}
