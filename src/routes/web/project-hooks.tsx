// A project's webhooks pages under /p/<project>/admin/hooks (owners and tenant admins, as the
// admin page): the list and the form to add one; a hook's page with its settings, "Send a test",
// its delivery log and "Redeliver". Every change is a POST checked by the cross-site guard.
import { Hono, type Context } from "hono";
import type { Child } from "hono/jsx";
import type { AppEnv } from "../context";
import { component, requireProjectAdmin } from "../middleware/guards";
import { showFormErrors } from "../middleware/errors";
import { webViewer } from "../middleware/session";
import { readForm } from "./helpers";
import type { Project } from "../../services/projects";
import {
  createHook,
  deleteHook,
  getHook,
  HOOK_EVENTS,
  listDeliveries,
  listHooks,
  redeliver,
  sendTestDelivery,
  updateHook,
  type Delivery,
  type Hook,
  type HookInput,
} from "../../services/webhooks";
import { Layout } from "../../views/layout";
import { Notice, PostButton } from "../../views/forms";
import { DeliveryLog, HookForm, HookList, type DeliveryView, type HookFormValues } from "../../views/webhooks";

export const projectHookRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;
type Status = 200 | 400 | 404 | 409 | 413 | 503;

/** Deliveries shown on a hook's page at once; older ones a link away. */
const LOG_PAGE = 20;

const DONE: Record<string, string> = {
  created: "Hook added. Send a test to see that the receiver gets it.",
  saved: "Hook saved.",
  deleted: "Hook deleted.",
  test: "A test delivery is on its way: reload to see it in the log.",
  redelivered: "Sent again as a new delivery: reload to see it in the log.",
};

const base = (p: Project) => `/p/${encodeURIComponent(p.name)}/admin/hooks`;

function frame(c: Ctx, project: Project, title: string, crumbs: { label: string; href?: string }[], body: Child, status: Status) {
  return webViewer(c).then((viewer) =>
    c.html(
      <Layout
        title={`${project.name} · ${title}`}
        forgeName={c.get("tenant").name}
        crumbs={[
          { label: project.name, href: `/p/${project.name}/` },
          { label: "Admin", href: `/p/${project.name}/admin` },
          ...crumbs,
        ]}
        project={{ project, viewer, current: "admin" }}
      >
        {body}
      </Layout>,
      status,
    ),
  );
}

const emptyForm: HookFormValues = { url: "", events: ["push"], contentType: "json", active: true, hasSecret: false };

async function listPage(c: Ctx, project: Project, error?: string, values = emptyForm, status: Status = 200) {
  const hooks = await listHooks(c.get("db"), project.id);
  const ok = DONE[c.req.query("ok") ?? ""];
  return frame(
    c,
    project,
    "webhooks",
    [{ label: "Webhooks" }],
    <>
      <h1>{project.name} · webhooks</h1>
      {ok && <Notice kind="ok">{ok}</Notice>}
      <p class="muted">
        Each event a hook takes is POSTed to its URL as JSON, signed with its secret, and retried with growing pauses when the
        receiver fails (five tries).
      </p>
      <HookList hooks={hooks.map((h) => ({ ...h, href: `${base(project)}/${h.id}` }))} />
      <h2>Add a hook</h2>
      {error && <Notice kind="error">{error}</Notice>}
      <HookForm action={base(project)} values={values} submit="Add hook" editing={false} />
    </>,
    status,
  );
}

const deliveryView = (project: Project, hook: Hook, d: Delivery): DeliveryView => {
  let headers: [string, string][] = [];
  try {
    headers = Object.entries(JSON.parse(d.requestHeaders) as Record<string, string>);
  } catch {
    // an unreadable log entry shows no headers
  }
  return {
    ...d,
    requestHeaders: headers,
    redeliverAction: `${base(project)}/${hook.id}/deliveries/${d.id}/redeliver`,
  };
};

async function hookPage(c: Ctx, project: Project, hook: Hook, error?: string, values?: HookFormValues, status: Status = 200) {
  const before = Number(c.req.query("before"));
  const page = await listDeliveries(c.get("db"), project.id, hook.id, {
    limit: LOG_PAGE + 1,
    before: Number.isSafeInteger(before) && before > 0 ? before : undefined,
  });
  const shown = page.slice(0, LOG_PAGE);
  const ok = DONE[c.req.query("ok") ?? ""];
  const here = `${base(project)}/${hook.id}`;
  return frame(
    c,
    project,
    `hook ${hook.id}`,
    [{ label: "Webhooks", href: base(project) }, { label: `Hook ${hook.id}` }],
    <>
      <h1>Hook {hook.id}</h1>
      <p class="mono">{hook.url}</p>
      {ok && <Notice kind="ok">{ok}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      <HookForm action={here} values={values ?? hook} submit="Save hook" editing />
      <h2>Recent deliveries</h2>
      <PostButton action={`${here}/test`} label="Send a test" />
      <DeliveryLog deliveries={shown.map((d) => deliveryView(project, hook, d))} />
      {page.length > LOG_PAGE && <a href={`${here}?before=${shown[shown.length - 1]!.id}`}>Older deliveries</a>}
      <h2>Delete</h2>
      <PostButton action={`${here}/delete`} label="Delete this hook and its log" danger />
    </>,
    status,
  );
}

/** The form's fields as service input; `secret` undefined keeps the hook's. */
function inputOf(form: Record<string, string>, editing: boolean): HookInput {
  const secret = form.remove_secret === "1" ? "" : form.secret || (editing ? undefined : "");
  return {
    url: form.url ?? "",
    secret,
    events: HOOK_EVENTS.filter((e) => form[`event_${e}`] === "1"),
    contentType: form.content_type ?? "json",
    active: form.active === "1",
  };
}

const typed = (input: HookInput, hasSecret: boolean): HookFormValues => ({
  url: input.url,
  events: input.events,
  contentType: input.contentType === "form" ? "form" : "json",
  active: input.active,
  hasSecret,
});

const hookId = (c: Ctx) => Number(c.req.param("id"));

projectHookRoutes.get("/p/:project/admin/hooks", component("web.project.hooks"), requireProjectAdmin("read"), (c) =>
  listPage(c, c.get("project")),
);

projectHookRoutes.post("/p/:project/admin/hooks", component("web.project.hooks"), requireProjectAdmin("write"), async (c) => {
  const project = c.get("project");
  const input = inputOf(await readForm(c), false);
  showFormErrors(c, ({ status, message }) => listPage(c, project, message, typed(input, false), status as Status));
  const hook = await createHook(c.env, c.get("db"), project.id, input);
  return c.redirect(`${base(project)}/${hook.id}?ok=created`, 303);
});

projectHookRoutes.get("/p/:project/admin/hooks/:id", component("web.project.hooks"), requireProjectAdmin("read"), async (c) => {
  const project = c.get("project");
  const hook = await getHook(c.get("db"), project.id, hookId(c));
  return hookPage(c, project, hook);
});

projectHookRoutes.post("/p/:project/admin/hooks/:id", component("web.project.hooks"), requireProjectAdmin("write"), async (c) => {
  const project = c.get("project");
  const hook = await getHook(c.get("db"), project.id, hookId(c));
  const input = inputOf(await readForm(c), true);
  showFormErrors(c, ({ status, message }) => hookPage(c, project, hook, message, typed(input, hook.hasSecret), status as Status));
  await updateHook(c.env, c.get("db"), project.id, hook.id, input);
  return c.redirect(`${base(project)}/${hook.id}?ok=saved`, 303);
});

projectHookRoutes.post(
  "/p/:project/admin/hooks/:id/delete",
  component("web.project.hooks"),
  requireProjectAdmin("write"),
  async (c) => {
    const project = c.get("project");
    await deleteHook(c.get("db"), project.id, hookId(c));
    return c.redirect(`${base(project)}?ok=deleted`, 303);
  },
);

projectHookRoutes.post(
  "/p/:project/admin/hooks/:id/test",
  component("web.project.hooks"),
  requireProjectAdmin("write"),
  async (c) => {
    const project = c.get("project");
    const hook = await getHook(c.get("db"), project.id, hookId(c));
    showFormErrors(c, ({ status, message }) => hookPage(c, project, hook, message, undefined, status as Status));
    const viewer = await webViewer(c);
    await sendTestDelivery(
      { env: c.env, tenant: c.get("tenant"), db: c.get("db") },
      project,
      hook.id,
      viewer.user?.username ?? null,
    );
    return c.redirect(`${base(project)}/${hook.id}?ok=test`, 303);
  },
);

projectHookRoutes.post(
  "/p/:project/admin/hooks/:id/deliveries/:delivery/redeliver",
  component("web.project.hooks"),
  requireProjectAdmin("write"),
  async (c) => {
    const project = c.get("project");
    const hook = await getHook(c.get("db"), project.id, hookId(c));
    showFormErrors(c, ({ status, message }) => hookPage(c, project, hook, message, undefined, status as Status));
    await redeliver(c.env, c.get("db"), c.get("tenant").id, project.id, hook.id, Number(c.req.param("delivery")));
    return c.redirect(`${base(project)}/${hook.id}?ok=redelivered`, 303);
  },
);
