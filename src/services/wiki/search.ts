// Full-text search of a project's wiki (the wiki_fts table of migration 0006): what people type
// becomes an FTS5 expression of quoted words (FTS5 syntax is never passed through as is).
import { sql } from "drizzle-orm";
import type { TenantDb } from "../../db/tenant-db";
import { badRequest } from "../../utils/errors";

const MAX_TERMS = 12;
export const SNIPPET_START = "\uE000";
export const SNIPPET_END = "\uE001";

/** Words and "phrases", each quoted; a trailing * searches by prefix. Null when nothing is searchable. */
export function wikiMatch(query: string): string | null {
  const terms: string[] = [];
  for (const token of query.slice(0, 500).match(/"[^"]*"?|\S+/g) ?? []) {
    const prefix = !token.startsWith('"') && token.endsWith("*");
    const word = token.replace(/^"|"$/g, "").replace(/\*+$/, "");
    if (!/[\p{L}\p{N}]/u.test(word)) continue;
    terms.push(`"${word.replace(/"/g, '""')}"${prefix ? "*" : ""}`);
  }
  if (terms.length > MAX_TERMS) throw badRequest(`Search with at most ${MAX_TERMS} words.`);
  return terms.length ? terms.join(" AND ") : null;
}

export interface WikiHit {
  name: string;
  title: string;
  /** The best passage, matches between SNIPPET_START and SNIPPET_END (text, to be escaped). */
  snippet: string;
}

/** The project's current pages matching `match`, best first. */
export async function searchWiki(db: TenantDb, projectId: number, match: string, limit = 50): Promise<WikiHit[]> {
  // The FTS table drives (CROSS JOIN), so the match runs once, not once per page of the project.
  return db.all<WikiHit>(sql`
    SELECT p.name AS name, p.title AS title,
      snippet(wiki_fts, -1, ${SNIPPET_START}, ${SNIPPET_END}, '…', 24) AS snippet
    FROM wiki_fts CROSS JOIN wiki_pages p
    WHERE wiki_fts MATCH ${match} AND p.id = wiki_fts.rowid AND p.project_id = ${projectId}
    ORDER BY bm25(wiki_fts, 10.0, 1.0)
    LIMIT ${limit}`);
}
