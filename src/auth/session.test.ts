// Signed session cookies: tampering, other tenants, expiry and secret rotation.
import { describe, expect, it } from "vitest";
import { SESSION_TTL_SECONDS, signSession, verifySession } from "./session";

const secrets = { current: "secret-now" };
const claims = { t: "tenanta", u: 1, n: "alice", e: 0 };

describe("session cookies", () => {
  it("verifies what it signed", async () => {
    const value = await signSession(secrets, claims);
    const v = await verifySession(secrets, "tenanta", value);
    expect(v?.claims).toMatchObject(claims);
    expect(v?.stale).toBe(false);
  });

  it("rejects the cookie on another tenant, even with the same user id", async () => {
    const value = await signSession(secrets, claims);
    expect(await verifySession(secrets, "tenantb", value)).toBeNull();
  });

  it("rejects a payload changed in any way", async () => {
    const value = await signSession(secrets, claims);
    const [v, payload, mac] = value.split(".");
    const forged = btoa(JSON.stringify({ ...claims, u: 2, iat: 0, exp: 2e9 })).replace(/=+$/, "");
    expect(await verifySession(secrets, "tenanta", `${v}.${forged}.${mac}`)).toBeNull();
    // A cookie signed for tenant b with its claims edited to say tenant a.
    const other = await signSession(secrets, { ...claims, t: "tenantb" });
    const [, otherPayload, otherMac] = other.split(".");
    expect(await verifySession(secrets, "tenanta", `v1.${otherPayload}.${otherMac}`)).toBeNull();
    expect(await verifySession(secrets, "tenanta", `v1.${payload}.${mac!.slice(0, -2)}AA`)).toBeNull();
    for (const junk of ["", "v1", "v1..", "v2.a.b", "v1.%%%.***", `${value}.x`]) {
      expect(await verifySession(secrets, "tenanta", junk)).toBeNull();
    }
  });

  it("expires", async () => {
    const now = Date.now();
    const value = await signSession(secrets, claims, now);
    expect(await verifySession(secrets, "tenanta", value, now + (SESSION_TTL_SECONDS - 1) * 1000)).not.toBeNull();
    expect(await verifySession(secrets, "tenanta", value, now + SESSION_TTL_SECONDS * 1000)).toBeNull();
  });

  it("rotates: the previous secret still verifies (marked stale); an unknown secret does not", async () => {
    const old = await signSession({ current: "secret-before" }, claims);
    const rotated = { current: "secret-now", previous: "secret-before" };
    const v = await verifySession(rotated, "tenanta", old);
    expect(v?.stale).toBe(true);
    expect(await verifySession({ current: "secret-now" }, "tenanta", old)).toBeNull();
    expect(await verifySession(rotated, "tenanta", await signSession({ current: "elsewhere" }, claims))).toBeNull();
  });
});
