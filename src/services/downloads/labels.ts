// Labels of download files: the project's predefined list (InDefero's `Name = description` lines,
// Featured, Deprecated, Type:*, OpSys:* by default) and the checks a file's labels pass.
import { eq } from "drizzle-orm";
import type { TenantDb } from "../../db/tenant-db";
import { downloadConfig } from "../../db/downloads-schema";
import { badRequest } from "../../utils/errors";

export interface LabelChoice {
  name: string;
  description: string;
}

/** Shown on the project's home page. */
export const FEATURED = "Featured";
/** Kept for those who need it; listed last and marked. */
export const DEPRECATED = "Deprecated";

export const DEFAULT_LABELS_TEXT = [
  `${FEATURED} = Listed on the project's home page`,
  `${DEPRECATED} = An old file, kept for those who still need it`,
  "Type:Executable = A program to run",
  "Type:Installer = Installs the program",
  "Type:Package = A package for a system's package manager",
  "Type:Archive = An archive of files",
  "Type:Source = Source code",
  "Type:Docs = Documentation",
  "Type:Data = Data files",
  "OpSys:All = Runs everywhere",
  "OpSys:Linux = Linux",
  "OpSys:macOS = macOS",
  "OpSys:Windows = Windows",
  "OpSys:BSD = The BSDs",
].join("\n");

/** A label is `Name` or `Class:Name`, each part letters, digits and `_ . + -`. */
const PART = "[\\p{L}\\p{N}_.+-]+";
const LABEL_NAME = new RegExp(`^${PART}(?::${PART})?$`, "u");
export const LABEL_MAX = 50;
export const LABELS_PER_FILE_MAX = 20;
const CHOICES_MAX = 100;
const LABEL_HINT = `Name or Class:Name, letters, digits and _ . + - (at most ${LABEL_MAX})`;

const isLabelName = (name: string) => name.length <= LABEL_MAX && LABEL_NAME.test(name);
export const labelKey = (label: string) => label.toLowerCase();

/** Parses the configuration text; a bad line is a 400 that names it. */
export function parseLabelChoices(text: string): LabelChoice[] {
  const out: LabelChoice[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const eq = line.indexOf("=");
    const name = (eq < 0 ? line : line.slice(0, eq)).trim();
    if (!isLabelName(name)) throw badRequest(`"${name.slice(0, 60)}" is not a valid label: ${LABEL_HINT}.`);
    if (seen.has(labelKey(name))) continue;
    seen.add(labelKey(name));
    out.push({ name, description: (eq < 0 ? "" : line.slice(eq + 1).trim()).slice(0, 200) });
  }
  if (out.length > CHOICES_MAX) throw badRequest(`List at most ${CHOICES_MAX} labels.`);
  return out;
}

export const DEFAULT_LABELS = parseLabelChoices(DEFAULT_LABELS_TEXT);

/** The configuration text of a project (the defaults until an owner saves one). */
export async function loadLabelsText(db: TenantDb, projectId: number): Promise<string> {
  const row = await db.query.downloadConfig.findFirst({ where: eq(downloadConfig.projectId, projectId) });
  return row?.labels ?? DEFAULT_LABELS_TEXT;
}

export async function loadLabelChoices(db: TenantDb, projectId: number): Promise<LabelChoice[]> {
  const row = await db.query.downloadConfig.findFirst({ where: eq(downloadConfig.projectId, projectId) });
  if (!row) return DEFAULT_LABELS;
  try {
    return parseLabelChoices(row.labels);
  } catch {
    // Saved text is checked when saved; a rule changed since must not break the pages.
    return DEFAULT_LABELS;
  }
}

export async function saveLabelsText(db: TenantDb, projectId: number, text: string): Promise<void> {
  parseLabelChoices(text);
  const values = { labels: text, updatedAt: new Date().toISOString() };
  await db
    .insert(downloadConfig)
    .values({ projectId, ...values })
    .onConflictDoUpdate({ target: downloadConfig.projectId, set: values });
}

/** Splits what people type in a labels field: spaces and commas separate labels. */
export const splitLabels = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/**
 * Checks and deduplicates a file's labels; a predefined label keeps its configured spelling
 * (featured → Featured). Labels outside the list are allowed, as InDefero allowed them.
 */
export function normalizeLabels(choices: LabelChoice[], names: string[]): string[] {
  const out = new Map<string, string>();
  for (const raw of names) {
    const name = raw.trim();
    if (!name) continue;
    if (!isLabelName(name)) throw badRequest(`"${name.slice(0, 60)}" is not a valid label: ${LABEL_HINT}.`);
    const predefined = choices.find((l) => labelKey(l.name) === labelKey(name));
    out.set(labelKey(name), predefined?.name ?? name);
  }
  const labels = [...out.values()];
  if (labels.length > LABELS_PER_FILE_MAX) throw badRequest(`A file has at most ${LABELS_PER_FILE_MAX} labels.`);
  return labels;
}
