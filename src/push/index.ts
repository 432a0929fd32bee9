// Push worker entry: git receive-pack (filled in by the push service issue) and the Repo Durable Object.
import type { Env } from "../env";

export { RepoObject } from "../repo/repo-object";

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return new Response("ok\n");
    return new Response("pushing is not available on this forge yet\n", {
      status: 501,
      headers: { "content-type": "text/plain" },
    });
  },
} satisfies ExportedHandler<Env>;
