// Uploading a file (members): the form, and its multipart body streamed to R2 as it arrives
// (SHA-256 on the way, the plan's size limit) before the file is described in D1.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component, requireDownloads } from "../../middleware/guards";
import { showFormErrors } from "../../middleware/errors";
import { webIdentity } from "../../middleware/session";
import {
  checkNewName,
  createDownload,
  discardStored,
  downloadLimit,
  loadLabelChoices,
  receiveUploadForm,
  tooLarge,
} from "../../../services/downloads";
import { ForgeError } from "../../../utils/errors";
import { multipartBoundary } from "../../../utils/multipart";
import { UploadForm, detailsHref, downloadsBase, type UploadDraft } from "../../../views/downloads";
import { DownloadsPage, formLabels, type Ctx } from "./frame";

export const uploadRoutes = new Hono<AppEnv>();

/** Room for the form's text fields and multipart framing beside the file. */
const FORM_OVERHEAD = 1024 * 1024;

async function uploadPage(c: Ctx, draft: UploadDraft, error?: string, status = 200) {
  const project = c.get("project");
  const choices = await loadLabelChoices(c.get("db"), project.id);
  return c.html(
    <DownloadsPage c={c} title="Upload a file" tab="new" crumbs={[{ label: "Upload" }]}>
      <UploadForm
        action={`${downloadsBase(project.name)}/new`}
        choices={choices}
        draft={draft}
        maxBytes={downloadLimit(c.get("tenant").plan)}
        error={error}
      />
    </DownloadsPage>,
    status as 200,
  );
}

uploadRoutes.get("/p/:project/downloads/new", component("web.downloads.new"), requireDownloads("write"), (c) =>
  uploadPage(c, { labels: [] }),
);

uploadRoutes.post("/p/:project/downloads/new", component("web.downloads.new"), requireDownloads("write"), async (c) => {
  const project = c.get("project");
  const db = c.get("db");
  const maxBytes = downloadLimit(c.get("tenant").plan);
  const fields: Record<string, string> = {};
  const draft = (): UploadDraft => ({ ...fields, labels: formLabels(fields) });
  showFormErrors(c, ({ status, message }) =>
    uploadPage(c, draft(), `${message} Nothing was uploaded; choose the file again.`, status),
  );
  const boundary = multipartBoundary(c.req.header("content-type"));
  if (!boundary)
    throw new ForgeError("unsupported_media_type", "Send the upload form as multipart/form-data (the page's form does).");
  // A body declared larger than the limit is refused before a byte of it is read.
  if (Number(c.req.header("content-length") ?? "0") > maxBytes + FORM_OVERHEAD) throw tooLarge(maxBytes);
  const body = c.req.raw.body;
  if (!body) throw new ForgeError("bad_request", "The form came without its file; choose the file and send it again.");
  const { user } = await webIdentity(c);
  const target = { bucket: c.env.OBJECTS, tenantId: c.get("tenant").id, projectId: project.id, maxBytes };
  const nameOf = (clientName: string | null) => (fields.name ?? "").trim() || (clientName ?? "");
  const stored = await receiveUploadForm(body, boundary, target, fields, (_, clientName) =>
    checkNewName(db, project.id, nameOf(clientName)),
  );
  if (!stored) throw new ForgeError("bad_request", "Choose a file to upload.");
  const name = nameOf(stored.clientName);
  try {
    await createDownload(
      db,
      project.id,
      user!,
      { name, summary: fields.summary ?? "", changelog: fields.changelog ?? "", labels: formLabels(fields) },
      stored,
    );
  } catch (err) {
    await discardStored(c.env.OBJECTS, stored);
    throw err;
  }
  return c.redirect(`${detailsHref(project.name, name)}?ok=uploaded`, 303);
});
