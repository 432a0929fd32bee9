// Webhooks in Gitea's words: Gitea's event names mapped onto the forge's hook events, its
// CreateHookOption/EditHookOption turned into the webhooks service's input, a hook into Gitea's
// Hook object. Plain mappers: the hooks themselves live in services/webhooks (one implementation).
import type { Hook, HookEvent, HookInput } from "../webhooks";
import { badRequest } from "../../utils/errors";
import { rfc3339 } from "./model";

/**
 * Gitea's event names the forge can honour, and the forge event each one subscribes to. A push
 * delivery says whether it created or deleted its ref, so "create" and "delete" are pushes; the
 * issue event carries owner and label changes; releases are the forge's downloads.
 */
const FROM_GITEA: Record<string, HookEvent> = {
  push: "push",
  create: "push",
  delete: "push",
  issues: "issue",
  issue_assign: "issue",
  issue_label: "issue",
  issue_comment: "comment",
  wiki: "wiki",
  release: "download",
  pull_request_review: "review",
  pull_request_review_approved: "review",
  pull_request_review_rejected: "review",
  pull_request_review_comment: "review",
};

/** The name a forge event is reported under in Gitea's Hook object. */
const TO_GITEA: Record<HookEvent, string> = {
  push: "push",
  issue: "issues",
  comment: "issue_comment",
  wiki: "wiki",
  download: "release",
  review: "pull_request_review",
};

export const GITEA_HOOK_EVENTS = Object.keys(FROM_GITEA);

/** Gitea's event names as forge events; none given means "push", as Gitea does. Unknown ones: 400 (Gitea: 422). */
export function forgeEvents(names: string[]): HookEvent[] {
  if (names.length === 0) return ["push"];
  const events = new Set<HookEvent>();
  for (const name of names) {
    const event = FROM_GITEA[name];
    if (!event) {
      throw badRequest(`Unknown or unsupported hook event "${name}": choose among ${GITEA_HOOK_EVENTS.join(", ")}.`);
    }
    events.add(event);
  }
  return [...events];
}

/** What Gitea's options say beyond the forge's hook: only the values that change nothing are taken. */
export interface GiteaHookExtras {
  type?: string;
  branch_filter?: string;
  authorization_header?: string;
  http_method?: string;
}

function checkExtras(o: GiteaHookExtras): void {
  if (o.type !== undefined && o.type !== "gitea") {
    throw badRequest(`Only "gitea" hooks exist here (JSON or form payloads POSTed to a URL); "${o.type}" is not supported.`);
  }
  if (o.branch_filter !== undefined && o.branch_filter !== "" && o.branch_filter !== "*") {
    throw badRequest('Branch filters are not supported: leave branch_filter empty or "*" (every branch).');
  }
  if (o.authorization_header) {
    throw badRequest("Authorization headers are not supported: sign deliveries with config.secret instead.");
  }
  if (o.http_method !== undefined && o.http_method.toLowerCase() !== "post") {
    throw badRequest('Hooks POST their payloads: leave config.http_method out or "post".');
  }
}

export interface GiteaHookConfig {
  url?: string;
  content_type?: string;
  secret?: string;
  http_method?: string;
}

/** Gitea's CreateHookOption as the service's input: content_type defaults to json, active to false (Gitea's default). */
export function createInput(o: {
  type: string;
  config: GiteaHookConfig & { url: string };
  events?: string[];
  active?: boolean;
  branch_filter?: string;
  authorization_header?: string;
}): HookInput {
  checkExtras({ ...o, http_method: o.config.http_method });
  return {
    url: o.config.url,
    secret: o.config.secret,
    events: forgeEvents(o.events ?? []),
    contentType: o.config.content_type ?? "json",
    active: o.active ?? false,
  };
}

/** Gitea's EditHookOption over the hook as it is: what is omitted stays; config.secret "" removes the secret. */
export function editInput(
  hook: Hook,
  o: { config?: GiteaHookConfig; events?: string[]; active?: boolean; branch_filter?: string; authorization_header?: string },
): HookInput {
  checkExtras({ ...o, http_method: o.config?.http_method });
  return {
    url: o.config?.url ?? hook.url,
    secret: o.config?.secret,
    events: o.events === undefined ? hook.events : forgeEvents(o.events),
    contentType: o.config?.content_type ?? hook.contentType,
    active: o.active ?? hook.active,
  };
}

/** Gitea's Hook object; the secret is never part of it. */
export const giteaHook = (h: Hook) => ({
  id: h.id,
  type: "gitea" as const,
  branch_filter: "",
  config: { url: h.url, content_type: h.contentType },
  events: h.events.map((e) => TO_GITEA[e]),
  authorization_header: "",
  active: h.active,
  created_at: rfc3339(h.createdAt),
  updated_at: rfc3339(h.updatedAt),
});
