// Outgoing requests to addresses users choose (webhooks), through the SSRF guard (ssrf.ts): every
// URL checked, host names resolved over DNS-over-HTTPS where a resolver is configured and every
// address checked, redirects followed by hand (at most a few), each target checked again.
import { type AllowList, addressRefusal, checkUrl } from "./ssrf";

/** The fetch the guard calls (injected: tests answer as the receiver would). */
export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

export interface GuardedFetchOptions {
  allow: AllowList;
  fetch: FetchFn;
  /**
   * DNS-over-HTTPS resolver (JSON API, `?name=&type=`), e.g. WEBHOOK_DNS_RESOLVER; without one,
   * names are not resolved (local forges: see docs/deploy.md) and only the URL checks apply.
   */
  resolver?: string;
  /** Redirects followed at most; one more is an error. */
  maxRedirects: number;
  /** Aborts the request (each hop) when it fires: the delivery's timeout. */
  signal?: AbortSignal;
}

export class BlockedTarget extends Error {}

interface DohAnswer {
  Status?: number;
  Answer?: { type: number; data: string }[];
}

/**
 * The A and AAAA addresses of `name` from a DNS-over-HTTPS resolver (CNAME chains are followed by
 * the resolver; only address records are kept). A name with no address is an error.
 */
export async function resolveName(name: string, resolver: string, fetchFn: FetchFn, signal?: AbortSignal): Promise<string[]> {
  const ask = async (type: "A" | "AAAA") => {
    const url = new URL(resolver);
    url.searchParams.set("name", name);
    url.searchParams.set("type", type);
    const res = await fetchFn(url.toString(), { headers: { accept: "application/dns-json" }, signal });
    if (!res.ok) throw new Error(`the DNS resolver answered ${res.status}`);
    const body = (await res.json()) as DohAnswer;
    return (body.Answer ?? []).filter((a) => a.type === 1 || a.type === 28).map((a) => a.data);
  };
  const [v4, v6] = await Promise.all([ask("A"), ask("AAAA")]);
  const all = [...v4, ...v6];
  if (all.length === 0) throw new BlockedTarget(`${name} has no address in the DNS.`);
  return all;
}

/** Refuses `raw` (BlockedTarget) unless it and, where resolution is possible, every address of its host pass the guard. */
export async function assertTargetAllowed(raw: string, o: GuardedFetchOptions): Promise<URL> {
  const checked = checkUrl(raw, o.allow);
  if (!checked.ok) throw new BlockedTarget(checked.reason);
  const { url, host, needsResolution } = checked.checked;
  if (needsResolution && o.resolver) {
    const addresses = await resolveName(host, o.resolver, o.fetch, o.signal);
    for (const a of addresses) {
      const why = addressRefusal(a);
      if (why) throw new BlockedTarget(`${host} resolves to ${why}: hooks call public addresses only.`);
    }
  }
  return url;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * fetch() through the guard: `redirect: "manual"`, and each Location checked before it is
 * followed (307/308 repeat the request; 301/302/303 become a GET without body, as browsers do).
 * Resolves with the final response and the URLs visited; a refused target throws BlockedTarget.
 */
export async function guardedFetch(
  raw: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  o: GuardedFetchOptions,
): Promise<{ response: Response; url: string; hops: number }> {
  let target = raw;
  let request = init;
  for (let hops = 0; ; hops++) {
    const url = await assertTargetAllowed(target, o);
    const response = await o.fetch(url.toString(), { ...request, redirect: "manual", signal: o.signal });
    const location = response.headers.get("location");
    if (!REDIRECTS.has(response.status) || !location) return { response, url: url.toString(), hops };
    await response.body?.cancel();
    if (hops >= o.maxRedirects)
      throw new BlockedTarget(`More than ${o.maxRedirects} redirects: the receiver should answer itself.`);
    target = new URL(location, url).toString();
    if (response.status !== 307 && response.status !== 308) {
      const { body: _body, ...rest } = request;
      request = { ...rest, method: "GET" };
    }
  }
}
