// The permission matrix of canAccess: every role against every level, read and write.
import { describe, expect, it } from "vitest";
import {
  ACCESS_LEVELS,
  ANONYMOUS,
  AREAS_WITH_LEVELS,
  canAccess,
  deniedStatus,
  type AccessLevel,
  type ProjectAccess,
  type ProjectRole,
  type Viewer,
} from "./access";

const project = (over: Partial<ProjectAccess> = {}): ProjectAccess => ({
  id: 7,
  private: false,
  accessSource: "all",
  accessIssues: "all",
  accessWiki: "all",
  accessDownloads: "all",
  accessReview: "all",
  ...over,
});

const viewer = (role?: ProjectRole, opts: { admin?: boolean; scope?: "read" | "write" } = {}): Viewer => ({
  user: { id: 1, username: "u", isAdmin: !!opts.admin },
  roles: new Map(role ? [[7, role]] : []),
  scope: opts.scope ?? "write",
});

const who = {
  anonymous: ANONYMOUS,
  user: viewer(),
  authorized: viewer("authorized"),
  member: viewer("member"),
  owner: viewer("owner"),
  admin: viewer(undefined, { admin: true }),
};
type Who = keyof typeof who;

/** Who reads an area at each level (public project). */
const readers: Record<AccessLevel, Who[]> = {
  all: ["anonymous", "user", "authorized", "member", "owner", "admin"],
  "signed-in": ["user", "authorized", "member", "owner", "admin"],
  members: ["member", "owner", "admin"],
  owners: ["owner", "admin"],
  off: [],
};

describe("canAccess", () => {
  for (const area of AREAS_WITH_LEVELS) {
    for (const level of ACCESS_LEVELS) {
      it(`${area} at level ${level}: read`, () => {
        const key = `access${area[0]!.toUpperCase()}${area.slice(1)}` as keyof ProjectAccess;
        const p = project({ [key]: level });
        const allowed = (Object.keys(who) as Who[]).filter((w) => canAccess(who[w], p, area, "read"));
        expect(allowed).toEqual(readers[level]);
      });
    }
  }

  it("writes: members for source, wiki, downloads; signed-in readers for issues and review; owners for admin", () => {
    const p = project();
    const writers = (area: Parameters<typeof canAccess>[2]) =>
      (Object.keys(who) as Who[]).filter((w) => canAccess(who[w], p, area, "write"));
    expect(writers("source")).toEqual(["member", "owner", "admin"]);
    expect(writers("wiki")).toEqual(["member", "owner", "admin"]);
    expect(writers("downloads")).toEqual(["member", "owner", "admin"]);
    expect(writers("issues")).toEqual(["user", "authorized", "member", "owner", "admin"]);
    expect(writers("review")).toEqual(["user", "authorized", "member", "owner", "admin"]);
    expect(writers("admin")).toEqual(["owner", "admin"]);
    expect(writers("project")).toEqual(["owner", "admin"]);
  });

  it("hides a private project from everyone but admins, members and authorized users", () => {
    const p = project({ private: true });
    for (const area of ["project", ...AREAS_WITH_LEVELS] as const) {
      const allowed = (Object.keys(who) as Who[]).filter((w) => canAccess(who[w], p, area, "read"));
      expect(allowed, area).toEqual(["authorized", "member", "owner", "admin"]);
    }
    expect(deniedStatus(who.user, p, "source", "read")).toBe(404);
    expect(deniedStatus(who.anonymous, p, "source", "write")).toBe(404);
    expect(deniedStatus(who.anonymous, p, "source", "read", { challengeAnonymous: true })).toBe(401);
    expect(deniedStatus(who.anonymous, undefined, "source", "read", { challengeAnonymous: true })).toBe(401);
    expect(deniedStatus(who.user, undefined, "source", "read")).toBe(404);
  });

  it("a read-only token never writes, even for an owner; denial status is 403 once readable", () => {
    const p = project();
    const readOnlyOwner = viewer("owner", { scope: "read" });
    expect(canAccess(readOnlyOwner, p, "source", "read")).toBe(true);
    expect(canAccess(readOnlyOwner, p, "source", "write")).toBe(false);
    expect(deniedStatus(readOnlyOwner, p, "source", "write")).toBe(403);
    expect(deniedStatus(ANONYMOUS, p, "source", "write")).toBe(401);
  });

  it("membership of another project counts for nothing", () => {
    const other: Viewer = { ...who.user, roles: new Map([[8, "owner"]]) };
    expect(canAccess(other, project({ private: true }), "project", "read")).toBe(false);
    expect(canAccess(other, project({ accessSource: "members" }), "source", "read")).toBe(false);
  });

  it("an unknown level fails closed (owners only)", () => {
    const p = project({ accessWiki: "everyone-please" });
    expect(canAccess(who.member, p, "wiki", "read")).toBe(false);
    expect(canAccess(who.owner, p, "wiki", "read")).toBe(true);
  });
});
