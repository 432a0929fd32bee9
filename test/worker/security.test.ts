// The security baseline of tenant hosts: cross-site requests refused, no state change on GET,
// security headers on every HTML page, label changes only by triagers, sign-in limits that hold
// under concurrency, bounded request bodies, and sign-out that ends the session on the server.
import { beforeAll, describe, expect, it } from "vitest";
import { signSession, verifySession } from "../../src/auth/session";
import { Browser, apiCall, newForge, registerUser, type Forge } from "./browser";
import { ADMIN_HOST, ADMIN_TOKEN, edge } from "./helpers";

let forge: Forge;
let admin: Browser;

beforeAll(async () => {
  forge = await newForge("sec");
  admin = new Browser(forge.host);
  await admin.signIn("owner", forge.ownerPassword);
});

describe("cross-site requests", () => {
  it("refuses a cross-origin form post with 403 and a clear message; the same post from the site works", async () => {
    const fields = { name: "Renamed by evil", registration: "open", project_creation: "admins", front_page: "" };
    const evil = await admin.post("/admin/settings", fields, { from: "http://evil.test" });
    expect(evil.status).toBe(403);
    const html = await evil.text();
    expect(html).toContain("Cross-site request refused");
    expect(await (await admin.get("/")).text()).not.toContain("Renamed by evil");

    // Origin alone (an older browser without Sec-Fetch-Site), and Origin: null (sandboxed frames).
    for (const origin of ["http://evil.test", "null", `http://${forge.host}.evil.test`]) {
      const res = await admin.fetch("/admin/settings", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin },
        body: new URLSearchParams(fields).toString(),
      });
      expect(res.status, origin).toBe(403);
    }
    // same-site (a sibling subdomain) is not same-origin.
    const sibling = await admin.post("/admin/settings", fields, { headers: { "sec-fetch-site": "same-site" } });
    expect(sibling.status).toBe(403);

    const ok = await admin.post("/admin/settings", { ...fields, name: "Renamed at home" });
    expect(ok.status).toBe(303);
    expect(await (await admin.get("/")).text()).toContain("Renamed at home");
  });

  it("refuses cross-site sign-in and sign-out (login CSRF)", async () => {
    const b = new Browser(forge.host);
    const res = await b.post("/account/login", { login: "owner", password: forge.ownerPassword }, { from: "http://evil.test" });
    expect(res.status).toBe(403);
    expect(b.cookies.size).toBe(0);
    expect((await admin.post("/account/logout", {}, { from: "http://evil.test" })).status).toBe(403);
    expect((await admin.get("/account")).status).toBe(200);
  });

  it("refuses cookie-authenticated API writes from another site; tokens are not affected", async () => {
    const post = (origin: string) =>
      edge(`http://${forge.host}/api/v1/user/tokens`, {
        method: "POST",
        headers: {
          cookie: admin.cookieHeader(),
          "content-type": "application/json",
          origin,
          "sec-fetch-site": origin === admin.origin ? "same-origin" : "cross-site",
        },
        body: JSON.stringify({ name: "via cookie", scope: "read" }),
      });
    const evil = await post("http://evil.test");
    expect(evil.status).toBe(403);
    expect(((await evil.json()) as { error: { message: string } }).error.message).toContain("Cross-site request refused");
    expect((await post(admin.origin)).status).toBe(201);
    expect((await apiCall(forge.host, "POST", "/api/v1/user/tokens", forge.ownerToken, { name: "via token" })).status).toBe(201);
  });

  it("skips the check only for a request a valid token authenticates, never for a cookie beside a junk header", async () => {
    const fields = { name: "Renamed with a header", registration: "open", project_creation: "admins", front_page: "" };
    const forgeName = async () => /<title>[^<]*<\/title>/.exec(await (await admin.get("/")).text())?.[0] ?? "";
    const before = await forgeName();
    for (const authorization of ["token junk", "Basic Zm9vOmJhcg==", "whatever"]) {
      const res = await admin.post("/admin/settings", fields, { from: "http://evil.test", headers: { authorization } });
      expect(res.status, authorization).toBe(403);
      expect(await res.text()).toContain("Cross-site request refused");
    }
    // A valid token of someone else beside the admin's cookie: the request acts by the token alone.
    const other = await registerUser(forge, "hal");
    const minted = await other.post("/account/tokens", { name: "t", scope: "write" });
    const token = /<p class="token">(efp_[A-Za-z0-9_-]+)<\/p>/.exec(await minted.text())![1]!;
    const withToken = await admin.post("/admin/settings", fields, {
      from: "http://evil.test",
      headers: { authorization: `token ${token}` },
    });
    expect(withToken.status).not.toBe(200);
    expect(await forgeName()).toBe(before);
    expect(await (await admin.get("/")).text()).not.toContain("Renamed with a header");
    const apiRes = await edge(`http://${forge.host}/api/v1/user`, {
      headers: { cookie: admin.cookieHeader(), authorization: `token ${token}` },
    });
    expect(((await apiRes.json()) as { username: string }).username).toBe("hal");
  });

  it("changes nothing on GET: sign-out, confirmations and admin actions need POST", async () => {
    expect((await admin.get("/account/logout")).status).toBe(404);
    expect((await admin.get("/account")).status).toBe(200);
    expect((await admin.get("/admin/users/1?action=deactivate")).status).toBe(404);
    const user = await registerUser(forge, "gus");
    expect((await user.get("/account/tokens/1/revoke")).status).toBe(404);
  });
});

describe("security headers", () => {
  it("every HTML page has a strict CSP, frame-ancestors, referrer policy and nosniff", async () => {
    const anon = new Browser(forge.host);
    const pages: [Browser, string][] = [
      [anon, "/"],
      [anon, "/account/login"],
      [anon, "/account/register"],
      [anon, "/account/reset"],
      [anon, "/p/none/"],
      [admin, "/account"],
      [admin, "/account/tokens"],
      [admin, "/admin"],
      [admin, "/admin/users"],
      [admin, "/admin/projects"],
      [admin, "/projects/new"],
    ];
    for (const [browser, path] of pages) {
      const res = await browser.get(path);
      expect(res.headers.get("content-type"), path).toContain("text/html");
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain("unsafe-inline");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("object-src 'none'");
      expect(res.headers.get("referrer-policy"), path).toBe("strict-origin-when-cross-origin");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("x-frame-options"), path).toBe("SAMEORIGIN");
      expect(await res.text(), path).not.toMatch(/<script(?![^>]*\ssrc=)/i);
    }
    const refused = await admin.post("/admin/settings", {}, { from: "http://evil.test" });
    expect(refused.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });
});

describe("session secret rotation", () => {
  it("accepts a cookie signed with the previous secret and re-signs it with the current one", async () => {
    // vitest.config.ts sets FORGE_SESSION_SECRET and FORGE_SESSION_SECRET_PREVIOUS.
    const claims = { t: forge.id, u: 1, n: "owner", a: true, e: 0 };
    const old = await signSession({ current: "test-session-secret-before-rotation" }, claims);
    const b = new Browser(forge.host);
    b.cookies.set("ef_session", old);
    const res = await b.get("/account");
    expect(res.status).toBe(200);
    const renewed = b.cookies.get("ef_session")!;
    expect(renewed).not.toBe(old);
    expect((await verifySession({ current: "test-session-secret" }, forge.id, renewed))?.stale).toBe(false);
    // A cookie signed with any other secret is refused and cleared.
    const forged = await signSession({ current: "guessed-secret" }, claims);
    const c = new Browser(forge.host);
    c.cookies.set("ef_session", forged);
    expect((await c.get("/account")).status).toBe(303);
    expect(c.cookies.size).toBe(0);
  });
});

describe("issue labels need the triage right, an empty list too", () => {
  it("refuses a non-member's PUT and PATCH of labels: [] (cookie or token) and ignores the web form's empty labels", async () => {
    expect((await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "labels" })).status).toBe(201);
    const filed = await apiCall(forge.host, "POST", "/api/v1/projects/labels/issues", forge.ownerToken, {
      title: "Labelled",
      labels: ["Security"],
    });
    expect(filed.status).toBe(201);
    const issue = "/api/v1/projects/labels/issues/1";
    const labelNames = async () =>
      ((await (await apiCall(forge.host, "GET", `${issue}/labels`, forge.ownerToken)).json()) as { name: string }[]).map(
        (l) => l.name,
      );
    expect(await labelNames()).toEqual(["Security"]);

    const outsider = await registerUser(forge, "outsider");
    const sameSite = (method: string, path: string, body: unknown) =>
      outsider.fetch(path, {
        method,
        headers: { "content-type": "application/json", origin: outsider.origin, "sec-fetch-site": "same-origin" },
        body: JSON.stringify(body),
      });
    const put = await sameSite("PUT", `${issue}/labels`, { labels: [] });
    expect(put.status).toBe(403);
    expect(((await put.json()) as { error: { message: string } }).error.message).toContain("Only project members");
    expect((await sameSite("PATCH", issue, { labels: [] })).status).toBe(403);
    const tokenRes = await outsider.post("/account/tokens", { name: "t", scope: "write" });
    const token = /<p class="token">(efp_[A-Za-z0-9_-]+)<\/p>/.exec(await tokenRes.text())![1]!;
    expect((await apiCall(forge.host, "PUT", `${issue}/labels`, token, { labels: [] })).status).toBe(403);
    expect((await apiCall(forge.host, "PATCH", issue, token, { labels: [], title: "Mine now" })).status).toBe(403);
    expect(await labelNames()).toEqual(["Security"]);

    // The web form drops the triage fields of those who may not triage: the comment is kept, the labels too.
    expect((await outsider.post("/p/labels/issues/1/comment", { comment: "A remark", labels: "" })).status).toBe(303);
    expect(await labelNames()).toEqual(["Security"]);

    // A member may clear them.
    expect((await apiCall(forge.host, "PUT", `${issue}/labels`, forge.ownerToken, { labels: [] })).status).toBe(200);
    expect(await labelNames()).toEqual([]);
  });
});

describe("the per-account sign-in limit under concurrent tries", () => {
  it("checks at most 10 passwords of 48 concurrent wrong tries; the rest are told to wait", async () => {
    const raced = await newForge("race");
    await registerUser(raced, "target");
    // Distinct client addresses: only the per-account limit applies.
    const tries = Array.from({ length: 48 }, (_, i) =>
      new Browser(raced.host).post(
        "/account/login",
        { login: "target", password: `guess-${i}` },
        { headers: { "cf-connecting-ip": `203.0.113.${i}` } },
      ),
    );
    const answers = await Promise.all(
      tries.map(async (pending) => {
        const res = await pending;
        return { status: res.status, text: await res.text() };
      }),
    );
    const wrong = answers.filter((a) => a.text.includes("Wrong username or password"));
    const waiting = answers.filter((a) => a.text.includes("Too many attempts"));
    expect(wrong.length).toBe(10);
    expect(wrong.every((a) => a.status === 401)).toBe(true);
    expect(waiting.length).toBe(38);
    expect(waiting.every((a) => a.status === 429)).toBe(true);
  });
});

describe("request body limits", () => {
  const MiB = 1024 * 1024;
  /** A JSON body of about `bytes`: a valid request padded by a field the API ignores. */
  const padded = (fields: Record<string, unknown>, bytes: number) => JSON.stringify({ ...fields, pad: "x".repeat(bytes) });
  /** The same bytes as a stream: sent chunked, without Content-Length. */
  const chunked = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    return new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.slice(i, i + 64 * 1024));
        controller.close();
      },
    });
  };
  const tokenNames = async () =>
    ((await (await apiCall(forge.host, "GET", "/api/v1/user/tokens", forge.ownerToken)).json()) as { name: string }[]).map(
      (t) => t.name,
    );

  it("answers 413 in the API's JSON shape to a tenant API body over 1 MiB, with or without Content-Length, and keeps nothing", async () => {
    const before = await tokenNames();
    for (const [how, body] of [
      ["sized", padded({ name: "too big, sized", scope: "read" }, 2 * MiB)],
      ["chunked", chunked(padded({ name: "too big, chunked", scope: "read" }, 2 * MiB))],
    ] as const) {
      const res = await edge(`http://${forge.host}/api/v1/user/tokens`, {
        method: "POST",
        headers: { authorization: `token ${forge.ownerToken}`, "content-type": "application/json" },
        body,
      });
      expect(res.status, how).toBe(413);
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect(json.error.code, how).toBe("payload_too_large");
      expect(json.error.message, how).toContain("1 MiB");
    }
    expect(await tokenNames()).toEqual(before);
    // Just under the limit is read as before, chunked too.
    const under = await edge(`http://${forge.host}/api/v1/user/tokens`, {
      method: "POST",
      headers: { authorization: `token ${forge.ownerToken}`, "content-type": "application/json" },
      body: chunked(padded({ name: "under the limit", scope: "read" }, MiB - 100)),
    });
    expect(under.status).toBe(201);
    // Attachments stream to R2 under the plan's own limit, not this one.
    expect((await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "uploads" })).status).toBe(201);
    expect(
      (await apiCall(forge.host, "POST", "/api/v1/projects/uploads/issues", forge.ownerToken, { title: "Big file" })).status,
    ).toBe(201);
    const upload = await edge(`http://${forge.host}/api/v1/projects/uploads/issues/1/attachments?name=big.json`, {
      method: "POST",
      headers: { authorization: `token ${forge.ownerToken}`, "content-type": "application/json" },
      body: chunked(padded({}, 2 * MiB)),
    });
    expect(upload.status, await upload.clone().text()).toBe(201);
  });

  it("answers 413 to a platform admin API body over 1 MiB, with or without Content-Length", async () => {
    for (const [how, body] of [
      ["sized", padded({ name: "x" }, 2 * MiB)],
      ["chunked", chunked(padded({ name: "x" }, 2 * MiB))],
    ] as const) {
      const res = await edge(`http://${ADMIN_HOST}/api/v1/tenants/${forge.slug}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body,
      });
      expect(res.status, how).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code, how).toBe("payload_too_large");
    }
  });

  it("refuses a web form over its limit sent without Content-Length", async () => {
    const res = await admin.fetch("/account/tokens", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: admin.origin, "sec-fetch-site": "same-origin" },
      body: chunked(new URLSearchParams({ name: "chunked form", scope: "read", pad: "x".repeat(512 * 1024) }).toString()),
    });
    expect(res.status).toBe(413);
    expect(await res.text()).toContain("This form is over 256 KiB");
    expect(await tokenNames()).not.toContain("chunked form");
  });
});

describe("signing out", () => {
  it("revokes the session on the server: a copy of the cookie stops working; the user's other sessions go on", async () => {
    const user = await registerUser(forge, "ida");
    const copied = user.cookies.get("ef_session")!;
    const copy = new Browser(forge.host);
    copy.cookies.set("ef_session", copied);
    const elsewhere = new Browser(forge.host);
    await elsewhere.signIn("ida", "user-password-1");
    expect((await copy.get("/account")).status).toBe(200);

    expect((await user.post("/account/logout", {})).status).toBe(303);
    expect(user.cookies.has("ef_session")).toBe(false);
    const page = await copy.get("/account");
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toContain("/account/login");
    expect(copy.cookies.has("ef_session")).toBe(false);
    // The API refuses the copied cookie too.
    const api = await edge(`http://${forge.host}/api/v1/user`, { headers: { cookie: `ef_session=${copied}` } });
    expect(api.status).toBe(401);
    // Signing out ends this sign-in only; "Sign out everywhere" ends them all.
    expect((await elsewhere.get("/account")).status).toBe(200);
    // The check rides on the query that loads the signed-in user: a page view without a cookie makes none.
    const anonymous = await new Browser(forge.host).get("/account/login");
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get("server-timing") ?? "").not.toContain("d1;");
  });

  it("ends every session when signing out with a cookie from before session ids (it has no id to revoke)", async () => {
    await registerUser(forge, "jon");
    const other = new Browser(forge.host);
    await other.signIn("jon", "user-password-1");
    const id = ((await (await other.fetch("/api/v1/user")).json()) as { id: number }).id;
    const legacy = new Browser(forge.host);
    legacy.cookies.set(
      "ef_session",
      await signSession({ current: "test-session-secret" }, { t: forge.id, u: id, n: "jon", e: 0 }),
    );
    const copy = new Browser(forge.host);
    copy.cookies.set("ef_session", legacy.cookies.get("ef_session")!);
    expect((await legacy.get("/account")).status).toBe(200);
    expect((await legacy.post("/account/logout", {})).status).toBe(303);
    expect((await copy.get("/account")).status).toBe(303);
    expect((await other.get("/account")).status).toBe(303);
  });
});
