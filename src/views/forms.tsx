// Small building blocks of the forms: labelled fields, notices, access-level choices.
import type { Child } from "hono/jsx";
import { markdownHtml } from "./markdown";
import { trustedHtml } from "./trusted-html";

export function Field(props: {
  label: string;
  name: string;
  type?: string;
  value?: string;
  required?: boolean;
  autocomplete?: string;
  hint?: string;
  maxlength?: number;
  autofocus?: boolean;
}) {
  const id = `f-${props.name}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        required={props.required}
        autocomplete={props.autocomplete}
        maxlength={props.maxlength}
        autofocus={props.autofocus}
      />
      {props.hint && <span class="hint">{props.hint}</span>}
    </div>
  );
}

export function TextArea(props: { label: string; name: string; value?: string; hint?: string; maxlength?: number }) {
  const id = `f-${props.name}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <textarea id={id} name={props.name} maxlength={props.maxlength}>
        {props.value ?? ""}
      </textarea>
      {props.hint && <span class="hint">{props.hint}</span>}
    </div>
  );
}

export function Notice(props: { kind?: "ok" | "error" | "info"; children?: Child }) {
  return (
    <p class={`notice ${props.kind ?? "info"}`} role={props.kind === "error" ? "alert" : "status"}>
      {props.children}
    </p>
  );
}

/** User-written Markdown, rendered by views/markdown.ts (sanitized after rendering). */
export function Markdown(props: { source: string }) {
  return <div class="md">{trustedHtml(markdownHtml(props.source))}</div>;
}

/** A one-button POST form (every state change is a POST, never a link). */
export function PostButton(props: { action: string; label: string; name?: string; value?: string; danger?: boolean }) {
  return (
    <form method="post" action={props.action} class="inline">
      {props.name && <input type="hidden" name={props.name} value={props.value} />}
      <button type="submit" class={props.danger ? "danger" : undefined}>
        {props.label}
      </button>
    </form>
  );
}

/** A form's last row: its submit button (the page's main action unless `plain`), then a way back or other links. */
export function SubmitRow(props: { label: string; plain?: boolean; cancel?: string; children?: Child }) {
  return (
    <div class="actions">
      <button type="submit" class={props.plain ? undefined : "primary"}>
        {props.label}
      </button>
      {props.cancel && (
        <>
          {" "}
          <a href={props.cancel}>Cancel</a>
        </>
      )}
      {props.children}
    </div>
  );
}
