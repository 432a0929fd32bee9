// Atom 1.0 documents (RFC 4287) as strings: every text and attribute escaped for XML, characters
// XML forbids dropped.
export function xmlEscape(s: string): string {
  return (
    s
      .replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[ch]!)
      // Characters XML 1.0 does not allow at all (a control character in a commit message...).
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
  );
}

export interface AtomEntry {
  id: string;
  title: string;
  /** Absolute URL of what the entry is about. */
  href: string;
  updated: string;
  author: string;
  /** Plain text. */
  summary?: string;
}

export interface AtomFeed {
  id: string;
  title: string;
  self: string;
  alternate: string;
  updated: string;
  entries: AtomEntry[];
}

export function atomDocument(f: AtomFeed): string {
  const x = xmlEscape;
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `<title>${x(f.title)}</title>`,
    `<id>${x(f.id)}</id>`,
    `<link rel="self" type="application/atom+xml" href="${x(f.self)}"/>`,
    `<link rel="alternate" type="text/html" href="${x(f.alternate)}"/>`,
    `<updated>${x(f.updated)}</updated>`,
    ...f.entries.map((e) =>
      [
        "<entry>",
        `<title>${x(e.title)}</title>`,
        `<id>${x(e.id)}</id>`,
        `<link rel="alternate" type="text/html" href="${x(e.href)}"/>`,
        `<updated>${x(e.updated)}</updated>`,
        `<author><name>${x(e.author)}</name></author>`,
        e.summary ? `<summary type="text">${x(e.summary)}</summary>` : "",
        "</entry>",
      ].join(""),
    ),
    "</feed>",
  ].join("\n");
}
