// What people type in the issue search box, turned into an FTS5 MATCH expression (never passed
// through as is: FTS5 syntax errors would be 500s) plus filters: status:, label:, owner:, is:.
import { badRequest } from "../utils/errors";

export interface ParsedSearch {
  /** FTS5 MATCH expression, null when no words were given. */
  match: string | null;
  status?: string;
  labels: string[];
  owner?: string;
  submitter?: string;
  state?: "open" | "closed" | "all";
}

const MAX_TERMS = 12;
const hasWordChar = (s: string) => /[\p{L}\p{N}]/u.test(s);
const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * Splits a query into words, "quoted phrases", -excluded words, prefix* words and filters
 * (status:Fixed label:Type:Defect owner:alice by:bob is:open|closed|all). Words are ANDed.
 */
export function parseSearch(query: string): ParsedSearch {
  const out: ParsedSearch = { match: null, labels: [] };
  const positive: string[] = [];
  const negative: string[] = [];
  const tokens = query.slice(0, 500).match(/-?"[^"]*"?|\S+/g) ?? [];
  for (const token of tokens) {
    const filter = /^(status|label|owner|by|is):(.+)$/i.exec(token);
    if (filter) {
      const [, key, value] = filter;
      switch (key!.toLowerCase()) {
        case "status":
          out.status = value;
          break;
        case "label":
          out.labels.push(value!);
          break;
        case "owner":
          out.owner = value;
          break;
        case "by":
          out.submitter = value;
          break;
        case "is":
          if (!/^(open|closed|all)$/i.test(value!)) throw badRequest(`"is:${value}": use is:open, is:closed or is:all.`);
          out.state = value!.toLowerCase() as "open" | "closed" | "all";
          break;
      }
      continue;
    }
    const negated = token.startsWith("-") && token.length > 1;
    let word = negated ? token.slice(1) : token;
    let term: string;
    if (word.startsWith('"')) {
      word = word.replace(/^"|"$/g, "");
      if (!hasWordChar(word)) continue;
      term = quote(word);
    } else {
      const prefix = word.endsWith("*");
      word = word.replace(/\*+$/, "");
      if (!hasWordChar(word)) continue;
      term = quote(word) + (prefix ? "*" : "");
    }
    (negated ? negative : positive).push(term);
  }
  if (positive.length + negative.length > MAX_TERMS) throw badRequest(`Search with at most ${MAX_TERMS} words.`);
  if (positive.length === 0 && negative.length > 0)
    throw badRequest("Say what to look for: a search needs at least one word that is not excluded.");
  if (positive.length) out.match = positive.join(" AND ") + negative.map((n) => ` NOT ${n}`).join("");
  return out;
}
