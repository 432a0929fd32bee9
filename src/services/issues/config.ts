// A project's tracker configuration: open and closed statuses, predefined labels and one-value
// label classes, in InDefero's text format (one `Name = description` a line), and the rules they set.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { TenantDb } from "../../db/tenant-db";
import { issueConfig, issues } from "../../db/schema";
import { badRequest } from "../../utils/errors";

export interface Choice {
  name: string;
  description: string;
}

export interface TrackerConfig {
  open: Choice[];
  closed: Choice[];
  labels: Choice[];
  /** Lowercase class names of which an issue carries at most one label. */
  oneValueClasses: string[];
}

/** The configuration as typed on the settings page (and as stored). */
export interface TrackerConfigText {
  openStatuses: string;
  closedStatuses: string;
  labels: string;
  oneValueClasses: string;
}

/** InDefero's defaults. */
export const DEFAULT_CONFIG_TEXT: TrackerConfigText = {
  openStatuses: [
    "New = Issue has not had initial review yet",
    "Accepted = Problem reproduced / need acknowledged",
    "Started = Work on this issue has begun",
  ].join("\n"),
  closedStatuses: [
    "Fixed = Developer made source code changes, QA should verify",
    "Verified = QA has verified that the fix worked",
    "Invalid = This was not a valid issue report",
    "Duplicate = This report duplicates an existing issue",
    "WontFix = We decided to not take action on this issue",
  ].join("\n"),
  labels: [
    "Type:Defect = Report of a software defect",
    "Type:Enhancement = Request for enhancement",
    "Type:Task = Work item that doesn't change the code or docs",
    "Type:Patch = Source code patch for review",
    "Type:Other = Some other kind of issue",
    "Priority:Critical = Must resolve in the specified milestone",
    "Priority:High = Strongly want to resolve in the specified milestone",
    "Priority:Medium = Normal priority",
    "Priority:Low = Might slip to later milestone",
    "OpSys:All = Affects all operating systems",
    "OpSys:Windows = Affects Windows users",
    "OpSys:Linux = Affects Linux users",
    "OpSys:OSX = Affects Mac OS X users",
    "Milestone:Release1.0 = All essential functionality working",
    "Component:UI = Issue relates to program UI",
    "Component:Logic = Issue relates to application logic",
    "Component:Persistence = Issue relates to data storage components",
    "Component:Scripts = Utility and installation scripts",
    "Component:Docs = Issue relates to end-user documentation",
    "Security = Security risk to users",
    "Performance = Performance issue",
    "Usability = Affects program usability",
    "Maintainability = Hinders future changes",
  ].join("\n"),
  oneValueClasses: "Type, Priority, Milestone",
};

/** A status is one word: letters, digits, '_' and '-' (WontFix, In-Review). */
const STATUS_NAME = /^[\p{L}\p{N}_-]{1,30}$/u;
/** A label is `Name` or `Class:Name`, each part letters, digits and `_ . + -`. */
const LABEL_PART = "[\\p{L}\\p{N}_.+-]+";
const LABEL_NAME = new RegExp(`^${LABEL_PART}(?::${LABEL_PART})?$`, "u");
export const LABEL_MAX = 50;
export const LABELS_PER_ISSUE_MAX = 20;

const CHOICES_MAX = 200;

function parseChoices(text: string, what: string, valid: (name: string) => boolean, hint: string): Choice[] {
  const out: Choice[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const eq = line.indexOf("=");
    const name = (eq < 0 ? line : line.slice(0, eq)).trim();
    const description = eq < 0 ? "" : line.slice(eq + 1).trim();
    if (!valid(name)) throw badRequest(`"${name}" is not a valid ${what}: ${hint}`);
    if (seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    out.push({ name, description: description.slice(0, 200) });
  }
  if (out.length > CHOICES_MAX) throw badRequest(`At most ${CHOICES_MAX} ${what}es.`);
  return out;
}

const isLabelName = (name: string) => name.length <= LABEL_MAX && LABEL_NAME.test(name);

/** Parses and checks configuration text; bad lines are a 400 that names them. */
export function parseConfig(text: TrackerConfigText): TrackerConfig {
  const statusHint = "one word of letters, digits, '_' or '-' (at most 30)";
  const open = parseChoices(text.openStatuses, "status", (n) => STATUS_NAME.test(n), statusHint);
  const closed = parseChoices(text.closedStatuses, "status", (n) => STATUS_NAME.test(n), statusHint);
  if (open.length === 0) throw badRequest("List at least one open status (new issues get the first one).");
  if (closed.length === 0) throw badRequest("List at least one closed status (commits that fix an issue set the first one).");
  const openKeys = new Set(open.map((s) => s.name.toLowerCase()));
  const both = closed.find((s) => openKeys.has(s.name.toLowerCase()));
  if (both) throw badRequest(`The status ${both.name} is in both lists: a status is either open or closed.`);
  const labels = parseChoices(text.labels, "label", isLabelName, "Name or Class:Name, letters, digits and _ . + -");
  const oneValueClasses = [
    ...new Set(
      text.oneValueClasses
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((c) => {
          if (!new RegExp(`^${LABEL_PART}$`, "u").test(c)) throw badRequest(`"${c}" is not a valid label class.`);
          return c.toLowerCase();
        }),
    ),
  ];
  return { open, closed, labels, oneValueClasses };
}

export const DEFAULT_CONFIG = parseConfig(DEFAULT_CONFIG_TEXT);

export async function loadConfigText(db: TenantDb, projectId: number): Promise<TrackerConfigText> {
  const row = await db.query.issueConfig.findFirst({ where: eq(issueConfig.projectId, projectId) });
  return row
    ? {
        openStatuses: row.openStatuses,
        closedStatuses: row.closedStatuses,
        labels: row.labels,
        oneValueClasses: row.oneValueClasses,
      }
    : DEFAULT_CONFIG_TEXT;
}

export async function loadConfig(db: TenantDb, projectId: number): Promise<TrackerConfig> {
  return configFrom(await configQuery(db, projectId));
}

/** loadConfig's query, for a page that reads it in one batch with the rest (the issue list and page). */
export const configQuery = (db: TenantDb, projectId: number) =>
  db.select().from(issueConfig).where(eq(issueConfig.projectId, projectId)).limit(1);

/** The configuration in the rows of configQuery (the defaults without one). */
export const configFrom = (rows: TrackerConfigText[]): TrackerConfig => (rows[0] ? configFromText(rows[0]) : DEFAULT_CONFIG);

/** A stored configuration; one that no longer parses (older rules) falls back to the defaults. */
export function configFromText(text: TrackerConfigText): TrackerConfig {
  try {
    return parseConfig(text);
  } catch {
    return DEFAULT_CONFIG;
  }
}

/**
 * Saves the configuration and brings every issue's open/closed state in step with the lists
 * (an issue whose status is in neither keeps its state).
 */
export async function saveConfig(db: TenantDb, projectId: number, text: TrackerConfigText): Promise<TrackerConfig> {
  const config = parseConfig(text);
  const now = new Date().toISOString();
  const values = { ...text, updatedAt: now };
  const statusIn = (keys: string[]) => inArray(sql`lower(${issues.status})`, keys);
  await db.batch([
    db
      .insert(issueConfig)
      .values({ projectId, ...values })
      .onConflictDoUpdate({ target: issueConfig.projectId, set: values }),
    db
      .update(issues)
      .set({ state: "closed", closedAt: sql`coalesce(${issues.closedAt}, ${now})`, version: sql`${issues.version} + 1` })
      .where(
        and(eq(issues.projectId, projectId), eq(issues.state, "open"), statusIn(config.closed.map((s) => s.name.toLowerCase()))),
      ),
    db
      .update(issues)
      .set({ state: "open", closedAt: null, version: sql`${issues.version} + 1` })
      .where(
        and(eq(issues.projectId, projectId), eq(issues.state, "closed"), statusIn(config.open.map((s) => s.name.toLowerCase()))),
      ),
  ]);
  return config;
}

// Statuses

export const defaultOpenStatus = (config: TrackerConfig) => config.open[0]!.name;
export const defaultClosedStatus = (config: TrackerConfig) => config.closed[0]!.name;

/** The configured spelling of a status and whether it is open or closed; null when unknown. */
export function findStatus(config: TrackerConfig, name: string): { name: string; state: "open" | "closed" } | null {
  const key = name.trim().toLowerCase();
  const open = config.open.find((s) => s.name.toLowerCase() === key);
  if (open) return { name: open.name, state: "open" };
  const closed = config.closed.find((s) => s.name.toLowerCase() === key);
  if (closed) return { name: closed.name, state: "closed" };
  return null;
}

export function requireStatus(config: TrackerConfig, name: string): { name: string; state: "open" | "closed" } {
  const found = findStatus(config, name);
  if (!found) {
    throw badRequest(
      `Unknown status "${name}". Open: ${config.open.map((s) => s.name).join(", ")}; closed: ${config.closed.map((s) => s.name).join(", ")}.`,
    );
  }
  return found;
}

// Labels

export const labelKey = (label: string) => label.toLowerCase();

/** The class of `Class:Name` (lowercase), null for a label without one. */
export function labelClass(label: string): string | null {
  const colon = label.indexOf(":");
  return colon < 0 ? null : label.slice(0, colon).toLowerCase();
}

/** Splits what people type in a labels field: spaces and commas separate labels. */
export const splitLabels = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/**
 * Checks label names and spells them as configured (type:defect -> Type:Defect); free labels are
 * allowed. Duplicates collapse. Two labels of one one-value class are a 400.
 */
export function normalizeLabels(config: TrackerConfig, names: string[]): string[] {
  const out = new Map<string, string>();
  for (const raw of names) {
    const name = raw.trim();
    if (!name) continue;
    if (!isLabelName(name)) {
      throw badRequest(
        `"${name.slice(0, 60)}" is not a valid label: use Name or Class:Name (letters, digits and _ . + -, at most ${LABEL_MAX}).`,
      );
    }
    const predefined = config.labels.find((l) => labelKey(l.name) === labelKey(name));
    out.set(labelKey(name), predefined?.name ?? name);
  }
  const labels = [...out.values()];
  if (labels.length > LABELS_PER_ISSUE_MAX) throw badRequest(`An issue has at most ${LABELS_PER_ISSUE_MAX} labels.`);
  checkOneValue(config, labels);
  return labels;
}

/** Refuses two labels of one one-value class (Type:Defect and Type:Enhancement). */
export function checkOneValue(config: TrackerConfig, labels: string[]): void {
  const byClass = new Map<string, string>();
  for (const label of labels) {
    const cls = labelClass(label);
    if (cls === null || !config.oneValueClasses.includes(cls)) continue;
    const other = byClass.get(cls);
    if (other) {
      throw badRequest(
        `${label} and ${other} are both in the one-value class ${label.slice(0, label.indexOf(":"))}: an issue has one of them at most.`,
      );
    }
    byClass.set(cls, label);
  }
}

/**
 * Adds labels to a set: a label of a one-value class replaces the one the issue had of that class
 * (adding Priority:High to an issue with Priority:Low swaps them).
 */
export function addLabels(config: TrackerConfig, current: string[], added: string[]): string[] {
  const adding = normalizeLabels(config, added);
  const replacedClasses = new Set(
    adding.map(labelClass).filter((c): c is string => c !== null && config.oneValueClasses.includes(c)),
  );
  const addingKeys = new Set(adding.map(labelKey));
  const kept = current.filter((l) => {
    const cls = labelClass(l);
    return !addingKeys.has(labelKey(l)) && !(cls !== null && replacedClasses.has(cls));
  });
  return normalizeLabels(config, [...kept, ...adding]);
}

/** Predefined labels grouped by class, one-value classes first (what the forms offer). */
export function labelGroups(config: TrackerConfig): { cls: string; oneValue: boolean; labels: Choice[] }[] {
  const groups = new Map<string, Choice[]>();
  for (const l of config.labels) {
    const colon = l.name.indexOf(":");
    const cls = colon < 0 ? "" : l.name.slice(0, colon);
    const key = groups.has(cls) ? cls : ([...groups.keys()].find((k) => k.toLowerCase() === cls.toLowerCase()) ?? cls);
    groups.set(key, [...(groups.get(key) ?? []), l]);
  }
  return [...groups.entries()]
    .map(([cls, labels]) => ({ cls, oneValue: config.oneValueClasses.includes(cls.toLowerCase()), labels }))
    .sort((a, b) => Number(b.oneValue) - Number(a.oneValue));
}
