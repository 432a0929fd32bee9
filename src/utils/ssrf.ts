// The SSRF guard of outgoing requests to addresses users choose (webhooks): which URLs, host names
// and IP addresses the forge refuses to call, and the operator's allow-list. Pure: no fetch, no DNS
// (ssrf-fetch.ts resolves names and follows redirects through these checks).
import ipaddr from "ipaddr.js";

/** Why a target is refused, or null when it may be called. */
export type Refusal = string | null;

/**
 * Names that lead to the machine itself, its network or a cloud's metadata service whatever the
 * DNS says: refused before any lookup. Suffixes match the name and every name under it.
 */
const BLOCKED_NAMES = ["localhost", "metadata.google.internal", "metadata.goog", "metadata", "instance-data"];
const BLOCKED_SUFFIXES = [
  "localhost",
  "local",
  "internal",
  "intranet",
  "lan",
  "home.arpa",
  "localdomain",
  "in-addr.arpa",
  "ip6.arpa",
];

/** Ports a hook may use: the web's own, and the unprivileged range (no SMTP, SSH, Redis's 6379 is allowed, as on other forges). */
const mayUsePort = (port: number) => port === 80 || port === 443 || (port >= 1024 && port <= 65535);

/** One entry of the allow-list: an exact host name, a `*.` suffix, or an address range. */
type AllowEntry =
  | { kind: "name"; name: string }
  | { kind: "suffix"; suffix: string }
  | { kind: "range"; range: [ipaddr.IPv4 | ipaddr.IPv6, number] };

export interface AllowList {
  entries: AllowEntry[];
}

export const EMPTY_ALLOW_LIST: AllowList = { entries: [] };

/**
 * The operator's allow-list (WEBHOOK_ALLOWLIST; docs/deploy.md): host names (`ci.corp.example`),
 * `*.corp.example`, addresses (`10.1.2.3`, `fd00::5`) and ranges (`10.0.0.0/8`), separated by
 * commas or spaces. An entry it cannot read is ignored, never widened.
 */
export function parseAllowList(text: string | undefined): AllowList {
  const entries: AllowEntry[] = [];
  for (const raw of (text ?? "").split(/[\s,]+/)) {
    const item = raw.trim().toLowerCase();
    if (!item) continue;
    if (item.includes("/")) {
      try {
        entries.push({ kind: "range", range: ipaddr.parseCIDR(item) });
      } catch {
        // not a range: ignored
      }
    } else if (ipaddr.isValid(item.replace(/^\[|\]$/g, ""))) {
      const addr = ipaddr.parse(item.replace(/^\[|\]$/g, ""));
      entries.push({ kind: "range", range: [addr, addr.kind() === "ipv4" ? 32 : 128] });
    } else if (item.startsWith("*.")) {
      entries.push({ kind: "suffix", suffix: item.slice(2) });
    } else {
      entries.push({ kind: "name", name: item });
    }
  }
  return { entries };
}

/** Whether the allow-list names this host (as written in the URL, lowercase, IPv6 without brackets). */
export function allowsName(list: AllowList, host: string): boolean {
  return list.entries.some(
    (e) =>
      (e.kind === "name" && e.name === host) || (e.kind === "suffix" && (host === e.suffix || host.endsWith(`.${e.suffix}`))),
  );
}

/** Whether the allow-list covers this address. */
export function allowsAddress(list: AllowList, address: string): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(address);
  } catch {
    return false;
  }
  return list.entries.some((e) => {
    if (e.kind !== "range") return false;
    const [net, bits] = e.range;
    if (net.kind() !== addr.kind()) return false;
    return addr.match(net as never, bits);
  });
}

const IPV4_RANGE_NAMES: Record<string, string> = {
  unspecified: "a 0.0.0.0/8 address",
  broadcast: "the broadcast address",
  multicast: "a multicast address",
  linkLocal: "a link-local address (169.254.0.0/16, where cloud metadata services answer)",
  loopback: "a loopback address",
  carrierGradeNat: "a carrier-grade NAT address (100.64.0.0/10)",
  private: "a private network address (RFC 1918)",
  reserved: "a reserved address",
  as112: "a reserved (AS112) address",
  amt: "a reserved (AMT) address",
};

function ipv4Refusal(a: ipaddr.IPv4): Refusal {
  const range = a.range();
  if (range === "unicast") return null;
  return `${a.toString()} is ${IPV4_RANGE_NAMES[range] ?? `a special address (${range})`}`;
}

/** The IPv4 address inside an IPv6 form that carries one (mapped, translated, NAT64, 6to4, compatible), if any. */
function embeddedIpv4(a: ipaddr.IPv6): ipaddr.IPv4 | null {
  const p = a.parts;
  const range = a.range();
  const last32 = () => new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
  if (range === "ipv4Mapped" || range === "rfc6145" || range === "rfc6052") return last32();
  if (range === "6to4") return new ipaddr.IPv4([p[1]! >> 8, p[1]! & 0xff, p[2]! >> 8, p[2]! & 0xff]);
  // Deprecated IPv4-compatible ::a.b.c.d (first 96 bits zero; :: and ::1 are classified before).
  if (p.slice(0, 6).every((x) => x === 0) && range !== "unspecified" && range !== "loopback") return last32();
  return null;
}

const IPV6_RANGE_NAMES: Record<string, string> = {
  unspecified: "the unspecified address ::",
  loopback: "the loopback address ::1",
  linkLocal: "a link-local address (fe80::/10)",
  multicast: "a multicast address",
  uniqueLocal: "a unique local address (fc00::/7, e.g. fd00:ec2::254, a cloud metadata address)",
  deprecatedSiteLocal: "a site-local address (fec0::/10)",
  teredo: "a Teredo tunnel address",
};

function ipv6Refusal(a: ipaddr.IPv6): Refusal {
  const inner = embeddedIpv4(a);
  if (inner) {
    const why = ipv4Refusal(inner);
    // Even a public address behind a translation or tunnel prefix goes through the gateway of
    // someone's network: refused too (call the IPv4 address itself instead).
    return `${a.toString()} embeds ${inner.toString()}${why ? `, which is ${why.replace(/^\S+ is /, "")}` : " (a translated or tunnelled form: use the IPv4 address itself)"}`;
  }
  const range = a.range();
  // Global unicast is 2000::/3; everything else is special-purpose or unassigned.
  if (range === "unicast" && a.match(ipaddr.IPv6.parse("2000::"), 3)) return null;
  return `${a.toString()} is ${IPV6_RANGE_NAMES[range] ?? `not a global unicast address (${range})`}`;
}

/** Why an IP address (any form ipaddr.js reads, IPv6 with or without brackets) may not be called, or null. */
export function addressRefusal(address: string): Refusal {
  const text = address.replace(/^\[|\]$/g, "");
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(text);
  } catch {
    return `${address} is not an IP address`;
  }
  return addr.kind() === "ipv4" ? ipv4Refusal(addr as ipaddr.IPv4) : ipv6Refusal(addr as ipaddr.IPv6);
}

/** Whether the URL's host is an IP address literal (the URL parser has already normalized 127.1, 0x7f.1, 2130706433). */
export const isIpLiteral = (host: string) => ipaddr.isValid(host.replace(/^\[|\]$/g, ""));

export interface CheckedUrl {
  url: URL;
  /** Lowercase host, IPv6 without brackets. */
  host: string;
  /** The host is on the allow-list (by name or address): no further checks. */
  allowed: boolean;
  /** The host is a name to resolve (not an address literal). */
  needsResolution: boolean;
}

/**
 * Checks a URL before any request: http(s) only, no user name or password in it, a usual port,
 * no name of the machine itself or a metadata service, and an address literal (in any notation
 * the URL parser accepts: it turns 2130706433, 0177.0.0.1, 0x7f.1 and 127.1 into 127.0.0.1) that
 * is public. Names still have to be resolved and each address checked (ssrf-fetch.ts).
 */
export function checkUrl(raw: string, allow: AllowList): { ok: true; checked: CheckedUrl } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "This is not a URL: write it in full, such as https://ci.example.com/hook." };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, reason: `A hook URL starts with https:// or http://, not ${url.protocol}//.` };
  }
  if (url.username || url.password) {
    return { ok: false, reason: "A hook URL may not hold a user name or password: use the hook's secret to authenticate." };
  }
  const host = url.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  if (!host) return { ok: false, reason: "The URL has no host." };
  const literal = isIpLiteral(host);
  const allowed = allowsName(allow, host) || (literal && allowsAddress(allow, host));
  if (allowed) return { ok: true, checked: { url, host, allowed, needsResolution: false } };
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  if (!mayUsePort(port)) return { ok: false, reason: `Port ${port} is not allowed: use 80, 443 or a port from 1024 up.` };
  if (literal) {
    const why = addressRefusal(host);
    return why
      ? { ok: false, reason: `The URL leads to ${why}: hooks call public addresses only.` }
      : { ok: true, checked: { url, host, allowed, needsResolution: false } };
  }
  if (BLOCKED_NAMES.includes(host) || BLOCKED_SUFFIXES.some((s) => host === s || host.endsWith(`.${s}`))) {
    return { ok: false, reason: `${host} names a local or internal machine: hooks call public hosts only.` };
  }
  if (!host.includes(".")) {
    return { ok: false, reason: `${host} is not a public host name (it has no dot): write the full name.` };
  }
  return { ok: true, checked: { url, host, allowed, needsResolution: true } };
}
