// Changing a file's summary, changelog and labels (members), and the project's predefined
// download labels (owners).
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component, requireDownloads } from "../../middleware/guards";
import { showFormErrors } from "../../middleware/errors";
import { canAccess } from "../../../auth/access";
import { findDownload, loadLabelChoices, loadLabelsText, saveLabelsText, updateDownload } from "../../../services/downloads";
import { ForgeError } from "../../../utils/errors";
import { EditForm, LabelsConfigForm, detailsHref, downloadsBase, type UploadDraft } from "../../../views/downloads";
import { notFoundPage } from "../errors";
import { readForm } from "../helpers";
import { DownloadsPage, formLabels, type Ctx } from "./frame";

export const editRoutes = new Hono<AppEnv>();

// Labels (owners): declared before the files' URLs, so a file cannot be named admin (see nameProblem).

async function configPage(c: Ctx, text: string, error?: string, status = 200) {
  return c.html(
    <DownloadsPage c={c} title="Download labels" tab="admin" crumbs={[{ label: "Labels" }]}>
      <LabelsConfigForm project={c.get("project").name} text={text} error={error} ok={c.req.query("ok") === "labels"} />
    </DownloadsPage>,
    status as 200,
  );
}

/** Owners only (canAccess "admin"); others see the same 404 as for a missing page. */
const requireOwner = async (c: Ctx, next: () => Promise<void>) => {
  if (!canAccess(c.get("viewer"), c.get("project"), "admin", "write")) return notFoundPage(c);
  await next();
};

editRoutes.get(
  "/p/:project/downloads/admin",
  component("web.downloads.admin"),
  requireDownloads("read"),
  requireOwner,
  async (c) => configPage(c, await loadLabelsText(c.get("db"), c.get("project").id)),
);

editRoutes.post(
  "/p/:project/downloads/admin",
  component("web.downloads.admin"),
  requireDownloads("write"),
  requireOwner,
  async (c) => {
    const form = await readForm(c);
    const text = form.labels ?? "";
    showFormErrors(c, ({ status, message }) => configPage(c, text, message, status));
    await saveLabelsText(c.get("db"), c.get("project").id, text);
    return c.redirect(`${downloadsBase(c.get("project").name)}/admin?ok=labels`, 303);
  },
);

// A file's description (members)

async function editPage(c: Ctx, draft: UploadDraft | null, error?: string, status = 200) {
  const project = c.get("project");
  const db = c.get("db");
  const [file, choices] = await Promise.all([
    findDownload(db, project.id, c.req.param("name") ?? ""),
    loadLabelChoices(db, project.id),
  ]);
  if (!file) return notFoundPage(c);
  return c.html(
    <DownloadsPage
      c={c}
      title={`Edit ${file.name}`}
      tab="file"
      crumbs={[{ label: file.name, href: detailsHref(project.name, file.name) }, { label: "Edit" }]}
    >
      <EditForm
        project={project.name}
        file={file}
        choices={choices}
        draft={draft ?? { summary: file.summary, changelog: file.changelog, labels: file.labels }}
        error={error}
      />
    </DownloadsPage>,
    status as 200,
  );
}

editRoutes.get("/p/:project/downloads/:name/edit", component("web.downloads.edit"), requireDownloads("write"), (c) =>
  editPage(c, null),
);

editRoutes.post("/p/:project/downloads/:name/edit", component("web.downloads.edit"), requireDownloads("write"), async (c) => {
  const project = c.get("project");
  const form = await readForm(c);
  const patch = { summary: form.summary ?? "", changelog: form.changelog ?? "", labels: formLabels(form) };
  showFormErrors(c, ({ status, message }) => editPage(c, patch, message, status));
  const name = c.req.param("name");
  if (!(await findDownload(c.get("db"), project.id, name))) throw new ForgeError("not_found", `There is no file named ${name}.`);
  await updateDownload(c.get("db"), project.id, name, patch);
  return c.redirect(`${detailsHref(project.name, name)}?ok=saved`, 303);
});
