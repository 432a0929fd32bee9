// URLs, dates and sizes of the source pages, and the state of their ref bar. The markup is
// views/source/*.ts (hono's escaping `html`).
import type { Oid } from "../git/oid";

// ---- URLs

const encSegments = (segments: string[]) => segments.map(encodeURIComponent).join("/");
/** A branch or tag name in a URL: its slashes stay slashes (the router finds the longest ref). */
const encRev = (name: string) => encSegments(name.split("/"));

export class SourceUrls {
  constructor(readonly project: string) {}
  get base(): string {
    return `/p/${encodeURIComponent(this.project)}/source`;
  }
  home(): string {
    return `${this.base}/`;
  }
  private at(view: string, rev: string, path: string[]): string {
    return `${this.base}/${view}/${encRev(rev)}${path.length ? `/${encSegments(path)}` : ""}`;
  }
  tree(rev: string, path: string[] = []): string {
    return this.at("tree", rev, path) + (path.length ? "" : "/");
  }
  blob(rev: string, path: string[]): string {
    return this.at("blob", rev, path);
  }
  raw(rev: string, path: string[]): string {
    return this.at("raw", rev, path);
  }
  blame(rev: string, path: string[]): string {
    return this.at("blame", rev, path);
  }
  log(rev: string, path: string[] = [], cursor?: Oid[]): string {
    return this.at("log", rev, path) + (cursor?.length ? `?after=${cursor.join(",")}` : "");
  }
  commit(oid: Oid, path: string[] = []): string {
    return `${this.base}/commit/${oid}${path.length ? `/${encSegments(path)}` : ""}`;
  }
  patch(oid: Oid, kind: "patch" | "diff"): string {
    return `${this.base}/commit/${oid}.${kind}`;
  }
  archive(rev: string, format: "tar.gz" | "zip"): string {
    return `${this.base}/archive/${encRev(rev)}.${format}`;
  }
  compare(base?: string, head?: string): string {
    return base && head ? `${this.base}/compare/${encRev(base)}...${encRev(head)}` : `${this.base}/compare`;
  }
  branches(): string {
    return `${this.base}/branches`;
  }
  tags(): string {
    return `${this.base}/tags`;
  }
  feed(branch: string): string {
    return `/p/${encodeURIComponent(this.project)}/feed/commits/${encRev(branch)}.atom`;
  }
  lastCommits(commit: Oid, path: string[]): string {
    return `${this.base}/last-commits/${commit}${path.length ? `/${encSegments(path)}` : ""}`;
  }
}

// ---- Dates and names

export function isoTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, "Z");
}
export const day = (epochSeconds: number) => isoTime(epochSeconds).slice(0, 10);

export function formatSize(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

// ---- The bar above every source page

export interface RefChoice {
  branches: string[];
  tags: string[];
}

export type SourceTab = "files" | "log" | "branches" | "tags" | "compare";
