// The SSRF guard, run in workerd (whose URL parser normalizes the IPv4 notations): each blocked
// address form, the allow-list, resolution over DNS-over-HTTPS and redirects to blocked targets.
import { describe, expect, it } from "vitest";
import { addressRefusal, checkUrl, EMPTY_ALLOW_LIST, parseAllowList } from "./ssrf";
import { BlockedTarget, guardedFetch, type FetchFn } from "./ssrf-fetch";

const refused = (url: string, allow = EMPTY_ALLOW_LIST) => {
  const r = checkUrl(url, allow);
  return r.ok ? null : r.reason;
};

describe("checkUrl refuses every blocked form", () => {
  const blocked: [url: string, reason: RegExp][] = [
    // loopback, in every IPv4 notation the URL parser accepts
    ["http://127.0.0.1/", /loopback/],
    ["http://127.1/", /loopback/],
    ["http://2130706433/", /loopback/],
    ["http://0177.0.0.1/", /loopback/],
    ["http://0x7f.0.0.1/", /loopback/],
    ["http://0x7f000001/", /loopback/],
    ["http://017700000001/", /loopback/],
    ["http://127.0.0.1.:8080/", /loopback/],
    // private, CGNAT, link-local and metadata, multicast, broadcast, 0/8, reserved
    ["http://10.0.0.1/", /private/],
    ["http://172.16.5.4/", /private/],
    ["http://172.31.255.255/", /private/],
    ["http://192.168.1.1/", /private/],
    ["http://3232235777/", /private/],
    ["http://100.64.0.1/", /carrier-grade/],
    ["http://100.127.255.254/", /carrier-grade/],
    ["http://169.254.169.254/latest/meta-data/", /link-local/],
    ["http://169.254.1.1/", /link-local/],
    ["http://224.0.0.1/", /multicast/],
    ["http://239.255.255.250:1900/", /multicast/],
    ["http://255.255.255.255/", /broadcast/],
    ["http://0.0.0.0/", /0\.0\.0\.0\/8/],
    ["http://0/", /0\.0\.0\.0\/8/],
    ["http://0.1.2.3/", /0\.0\.0\.0\/8/],
    ["http://240.0.0.1/", /reserved/],
    ["http://192.0.2.1/", /reserved/],
    ["http://198.18.0.1/", /reserved/],
    // IPv6: loopback, unspecified, unique local (and AWS's metadata address), link-local, multicast, site-local
    ["http://[::1]/", /loopback/],
    ["http://[0:0:0:0:0:0:0:1]/", /loopback/],
    ["http://[::]/", /unspecified/],
    ["http://[fc00::1]/", /unique local/],
    ["http://[fd12:3456::1]/", /unique local/],
    ["http://[fd00:ec2::254]/", /unique local/],
    ["http://[fe80::1]/", /link-local/],
    ["http://[febf::1]/", /link-local/],
    ["http://[ff02::1]/", /multicast/],
    ["http://[fec0::1]/", /site-local/],
    ["http://[2001:db8::1]/", /not a global unicast/],
    ["http://[100::1]/", /not a global unicast/],
    // IPv4-mapped, dotted and hex, and the other embedded IPv4 forms
    ["http://[::ffff:127.0.0.1]/", /embeds 127\.0\.0\.1.*loopback/],
    ["http://[::ffff:7f00:1]/", /embeds 127\.0\.0\.1.*loopback/],
    ["http://[0:0:0:0:0:ffff:a9fe:a9fe]/", /embeds 169\.254\.169\.254.*link-local/],
    ["http://[::ffff:10.0.0.1]/", /embeds 10\.0\.0\.1.*private/],
    ["http://[::ffff:0:7f00:1]/", /embeds 127\.0\.0\.1/],
    ["http://[::127.0.0.1]/", /embeds 127\.0\.0\.1/],
    // NAT64 (well-known and local-use prefixes), 6to4, Teredo
    ["http://[64:ff9b::7f00:1]/", /embeds 127\.0\.0\.1.*loopback/],
    ["http://[64:ff9b::169.254.169.254]/", /embeds 169\.254\.169\.254/],
    ["http://[64:ff9b::8.8.8.8]/", /embeds 8\.8\.8\.8.*translated/],
    ["http://[64:ff9b:1::a00:1]/", /embeds 10\.0\.0\.1/],
    ["http://[2002:7f00:1::]/", /embeds 127\.0\.0\.1/],
    ["http://[2002:c0a8:101::1]/", /embeds 192\.168\.1\.1/],
    ["http://[2001::1]/", /Teredo/],
    // names of the machine itself and of metadata services
    ["http://localhost/", /local or internal/],
    ["http://LOCALHOST:8080/", /local or internal/],
    ["http://api.localhost/", /local or internal/],
    ["http://localhost./", /local or internal/],
    ["http://metadata.google.internal/computeMetadata/v1/", /local or internal/],
    ["http://metadata/", /local or internal/],
    ["http://printer.local/", /local or internal/],
    ["http://intranet/", /local or internal/],
    ["http://printer/", /no dot/],
    // userinfo tricks, schemes, ports
    ["http://user:pass@example.com/", /user name or password/],
    ["http://example.com@127.0.0.1/", /user name or password/],
    ["http://127.0.0.1#@example.com/", /loopback/],
    ["http://example.com:80@10.0.0.1/", /user name or password/],
    ["ftp://example.com/", /https:\/\/ or http:\/\//],
    ["file:///etc/passwd", /https:\/\/ or http:\/\//],
    ["gopher://example.com:70/", /https:\/\/ or http:\/\//],
    ["javascript:alert(1)", /https:\/\/ or http:\/\//],
    ["http://example.com:25/", /Port 25/],
    ["http://example.com:22/", /Port 22/],
    ["not a url", /not a URL/],
  ];
  it.each(blocked)("%s", (url, reason) => {
    expect(refused(url)).toMatch(reason);
  });

  const allowed = [
    "https://example.com/hook",
    "http://ci.example.org:8080/x?y=1",
    "https://93.184.215.14/",
    "https://[2606:4700:4700::1111]/",
    "http://8.8.8.8:443/",
  ];
  it.each(allowed)("lets %s through", (url) => {
    expect(refused(url)).toBeNull();
  });
});

describe("addressRefusal (DNS answers)", () => {
  it.each([
    ["127.0.0.53", /loopback/],
    ["10.1.2.3", /private/],
    ["::1", /loopback/],
    ["::ffff:192.168.0.1", /private/],
    ["fd00:ec2::254", /unique local/],
  ])("%s", (addr, why) => expect(addressRefusal(addr)).toMatch(why));
  it("passes public addresses", () => {
    expect(addressRefusal("1.1.1.1")).toBeNull();
    expect(addressRefusal("2606:4700::1111")).toBeNull();
  });
});

describe("the allow-list", () => {
  const allow = parseAllowList("127.0.0.1, receiver.test  *.corp.example 10.20.0.0/16 [fd00::5] not/valid");
  it.each([
    "http://127.0.0.1:43210/hook",
    "http://receiver.test/hook",
    "https://ci.corp.example/",
    "https://corp.example/",
    "http://10.20.3.4:8080/",
    "http://[fd00::5]:9000/",
  ])("lets %s through", (url) => expect(refused(url, allow)).toBeNull());
  it.each(["http://127.0.0.2/", "http://10.21.0.1/", "http://[fd00::6]/"])("still refuses %s", (url) =>
    expect(refused(url, allow)).not.toBeNull(),
  );
  it.each(["http://other.test/", "http://xcorp.example/"])("does not count %s as listed (it is resolved and checked)", (url) => {
    const r = checkUrl(url, allow);
    expect(r.ok && r.checked.allowed).toBe(false);
    expect(r.ok && r.checked.needsResolution).toBe(true);
  });
  it("keeps the scheme and userinfo checks for allowed hosts", () => {
    expect(refused("ftp://receiver.test/", allow)).toMatch(/https/);
    expect(refused("http://u:p@receiver.test/", allow)).toMatch(/user name/);
  });
});

/** A fake network: DNS-over-HTTPS answers and HTTP responses by URL; records what was asked. */
function network(dns: Record<string, string[]>, pages: Record<string, () => Response>) {
  const asked: string[] = [];
  const fetchFn: FetchFn = async (input) => {
    asked.push(input);
    const url = new URL(input);
    if (url.hostname === "dns.test") {
      const name = url.searchParams.get("name")!;
      const type = url.searchParams.get("type") === "A" ? 1 : 28;
      const answers = (dns[name] ?? []).filter((a) => (type === 1) === !a.includes(":"));
      return Response.json({ Status: 0, Answer: answers.map((data) => ({ type, data })) });
    }
    const page = pages[input];
    return page ? page() : new Response("no such page", { status: 404 });
  };
  return { asked, fetchFn };
}

const redirect =
  (to: string, status = 302) =>
  () =>
    new Response(null, { status, headers: { location: to } });

describe("guardedFetch", () => {
  const init = { method: "POST", headers: { "content-type": "application/json" }, body: "{}" };
  const options = (fetchFn: FetchFn, allow = parseAllowList("dns.test")) => ({
    allow,
    fetch: fetchFn,
    resolver: "https://dns.test/dns-query",
    maxRedirects: 3,
  });

  it("refuses a name that resolves to a private or metadata address, and asks nothing of it", async () => {
    const net = network({ "evil.example": ["93.184.215.14", "169.254.169.254"], "six.example": ["::ffff:10.0.0.1"] }, {});
    await expect(guardedFetch("https://evil.example/", init, options(net.fetchFn))).rejects.toThrow(/169\.254\.169\.254/);
    await expect(guardedFetch("https://six.example/", init, options(net.fetchFn))).rejects.toThrow(/10\.0\.0\.1/);
    expect(net.asked.filter((u) => !u.startsWith("https://dns.test/"))).toEqual([]);
  });

  it("refuses a name with no address", async () => {
    const net = network({}, {});
    await expect(guardedFetch("https://nowhere.example/", init, options(net.fetchFn))).rejects.toThrow(BlockedTarget);
  });

  it("follows redirects to public hosts, and refuses one to a blocked address before calling it", async () => {
    const net = network(
      { "a.example": ["93.184.215.14"], "b.example": ["93.184.215.15"] },
      {
        "https://a.example/hook": redirect("https://b.example/final", 307),
        "https://b.example/final": () => new Response("ok"),
        "https://a.example/evil": redirect("http://127.0.0.1:8080/admin"),
        "https://a.example/sneaky": redirect("https://b.example/next"),
        "https://b.example/next": redirect("http://[::ffff:169.254.169.254]/latest/meta-data/"),
      },
    );
    const ok = await guardedFetch("https://a.example/hook", init, options(net.fetchFn));
    expect(ok.response.status).toBe(200);
    expect(ok.url).toBe("https://b.example/final");
    await expect(guardedFetch("https://a.example/evil", init, options(net.fetchFn))).rejects.toThrow(/loopback/);
    await expect(guardedFetch("https://a.example/sneaky", init, options(net.fetchFn))).rejects.toThrow(/169\.254\.169\.254/);
    expect(net.asked.some((u) => u.includes("127.0.0.1") || u.includes("169.254"))).toBe(false);
  });

  it("stops after the most redirects it follows", async () => {
    const net = network({ "loop.example": ["93.184.215.14"] }, { "https://loop.example/": redirect("https://loop.example/") });
    await expect(guardedFetch("https://loop.example/", init, options(net.fetchFn))).rejects.toThrow(/More than 3 redirects/);
  });
});
