// A project's webhooks pages (owners only): the list with the form to add one, and a hook's page
// (its settings, "Send a test", the delivery log with each attempt's request and response and
// "Redeliver"). Everything a receiver sent back is text, escaped by hono's JSX.
import type { Child } from "hono/jsx";
import { Field, Notice, PostButton, SubmitRow } from "./forms";

export interface HookRowView {
  id: number;
  url: string;
  events: string[];
  contentType: "json" | "form";
  active: boolean;
  hasSecret: boolean;
  href: string;
}

export interface DeliveryView {
  id: number;
  delivery: string;
  event: string;
  attempt: number;
  state: string;
  createdAt: string;
  requestHeaders: [string, string][];
  requestBody: string;
  responseStatus: number | null;
  responseBody: string | null;
  durationMs: number | null;
  error: string | null;
  redeliverAction: string;
}

/** What the form shows: a hook's values, or what was typed when the form comes back with an error. */
export interface HookFormValues {
  url: string;
  events: string[];
  contentType: "json" | "form";
  active: boolean;
  hasSecret: boolean;
}

export const HOOK_EVENT_LABELS: Record<string, string> = {
  push: "Pushes (one delivery per branch or tag)",
  issue: "Issues opened, closed, reopened or changed",
  comment: "Issue comments",
  wiki: "Wiki pages saved, reverted or deleted",
  download: "Downloads uploaded or deleted",
  review: "Code reviews",
};

export function HookForm(props: { action: string; values: HookFormValues; submit: string; editing: boolean }) {
  const v = props.values;
  return (
    <form method="post" action={props.action} class="stack wide">
      <Field
        label="Payload URL"
        name="url"
        value={v.url}
        required
        maxlength={2000}
        hint="https:// or http://, a public host: addresses of private networks, this machine or cloud metadata are refused."
      />
      <Field
        label="Secret"
        name="secret"
        type="password"
        autocomplete="new-password"
        maxlength={200}
        hint={
          props.editing && v.hasSecret
            ? "A secret is set (it is never shown). Leave empty to keep it; type a new one to replace it."
            : "Signs each delivery: X-Edgeforge-Signature-256: sha256=<HMAC-SHA256 of the body>. Optional."
        }
      />
      {props.editing && v.hasSecret && (
        <label class="check">
          <input type="checkbox" name="remove_secret" value="1" /> Remove the secret (deliveries are then unsigned)
        </label>
      )}
      <fieldset>
        <legend>Events</legend>
        {Object.entries(HOOK_EVENT_LABELS).map(([event, label]) => (
          <label class="check">
            <input type="checkbox" name={`event_${event}`} value="1" checked={v.events.includes(event)} /> {label}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Content type</legend>
        <label class="check">
          <input type="radio" name="content_type" value="json" checked={v.contentType === "json"} /> application/json
        </label>
        <label class="check">
          <input type="radio" name="content_type" value="form" checked={v.contentType === "form"} />{" "}
          application/x-www-form-urlencoded (the JSON in a field named payload)
        </label>
      </fieldset>
      <label class="check">
        <input type="checkbox" name="active" value="1" checked={v.active} /> Active: deliver events (a test is sent either way)
      </label>
      <SubmitRow label={props.submit} />
    </form>
  );
}

export function HookList(props: { hooks: HookRowView[] }): Child {
  if (props.hooks.length === 0) return <p class="muted">No hooks yet.</p>;
  return (
    <table class="list hooks">
      <thead>
        <tr>
          <th scope="col">URL</th>
          <th scope="col">Events</th>
          <th scope="col">State</th>
        </tr>
      </thead>
      <tbody>
        {props.hooks.map((h) => (
          <tr>
            <td>
              <a href={h.href}>{h.url}</a>
            </td>
            <td>{h.events.join(", ")}</td>
            <td>{h.active ? "active" : "inactive"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const outcome = (d: DeliveryView) =>
  d.state === "pending"
    ? "pending"
    : d.responseStatus !== null
      ? `${d.state === "ok" ? "delivered" : "failed"}: HTTP ${d.responseStatus}`
      : `failed: ${d.error ?? "no answer"}`;

export function DeliveryLog(props: { deliveries: DeliveryView[] }): Child {
  if (props.deliveries.length === 0) return <p class="muted">Nothing delivered yet.</p>;
  return (
    <ol class="deliveries">
      {props.deliveries.map((d) => (
        <li id={`d${d.id}`} class={`delivery ${d.state}`}>
          <details>
            <summary>
              <span class="mono">{d.event}</span> · {outcome(d)} · attempt {d.attempt} · {d.createdAt}
              {d.durationMs !== null && ` · ${d.durationMs} ms`}
            </summary>
            <p class="muted">
              Delivery <span class="mono">{d.delivery}</span>
            </p>
            {d.error && <Notice kind="error">{d.error}</Notice>}
            <h3>Request</h3>
            <pre class="mono">{d.requestHeaders.map(([k, v]) => `${k}: ${v}`).join("\n")}</pre>
            <pre class="mono">{d.requestBody}</pre>
            <h3>Response{d.responseStatus !== null && ` (HTTP ${d.responseStatus})`}</h3>
            <pre class="mono">{d.responseBody ?? "(none)"}</pre>
            <PostButton action={d.redeliverAction} label="Redeliver" />
          </details>
        </li>
      ))}
    </ol>
  );
}
