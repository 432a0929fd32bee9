// If-None-Match for GET and HEAD (RFC 9110 section 13.1.2): weak comparison against a list of
// entity tags or "*". Cloudflare weakens ETags when it compresses, so exact matching misses.

/** The opaque tags of an If-None-Match value (W/ dropped), or "*"; quoted commas stay inside. */
function entityTags(value: string): string[] | "*" {
  if (value.trim() === "*") return "*";
  const tags: string[] = [];
  let i = 0;
  while (i < value.length) {
    const ch = value[i]!;
    if (ch === " " || ch === "\t" || ch === ",") {
      i++;
      continue;
    }
    if (value.startsWith("W/", i)) i += 2;
    if (value[i] === '"') {
      const end = value.indexOf('"', i + 1);
      if (end < 0) break; // unterminated: nothing more can be read
      tags.push(value.slice(i, end + 1));
      i = end + 1;
    } else {
      // Not an entity tag (a client's mistake): skip to the next member of the list.
      const comma = value.indexOf(",", i);
      if (comma < 0) break;
      i = comma + 1;
    }
  }
  return tags;
}

/**
 * True when a GET or HEAD with this If-None-Match header may answer 304 for a representation
 * tagged `etag`: "*", or any listed tag equal to it under weak comparison (W/ ignored on both).
 */
export function ifNoneMatchHits(header: string | null | undefined, etag: string | null | undefined): boolean {
  if (!header || !etag) return false;
  const tags = entityTags(header);
  if (tags === "*") return true;
  const opaque = etag.startsWith("W/") ? etag.slice(2) : etag;
  return tags.includes(opaque);
}
