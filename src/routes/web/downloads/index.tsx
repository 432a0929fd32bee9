// The downloads area's pages: the file list (by label), a file's page, the file itself at its
// stable URL (ranges, counted after the response starts) and deleting a file.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component, requireDownloads } from "../../middleware/guards";
import { webIdentity } from "../../middleware/session";
import {
  countDownload,
  deleteDownload,
  findDownload,
  findDownloadRow,
  listDownloads,
  loadLabelChoices,
  serveDownload,
} from "../../../services/downloads";
import { Notice } from "../../../views/forms";
import { DownloadTable, EmptyDownloads, FileDetails, LabelFilter, downloadsBase } from "../../../views/downloads";
import { notFoundPage } from "../errors";
import { DownloadsPage, rightsOf } from "./frame";
import { uploadRoutes } from "./upload";
import { editRoutes } from "./edit";

export const downloadRoutes = new Hono<AppEnv>();

const DONE: Record<string, string> = {
  uploaded: "File uploaded.",
  saved: "Changes saved.",
  deleted: "File deleted.",
};

downloadRoutes.get("/p/:project/downloads", (c) => c.redirect(`${downloadsBase(c.req.param("project"))}/`, 301));

downloadRoutes.get("/p/:project/downloads/", component("web.downloads.list"), requireDownloads("read"), async (c) => {
  const project = c.get("project");
  const db = c.get("db");
  const label = c.req.query("label")?.slice(0, 100) || undefined;
  const [{ files, total }, choices] = await Promise.all([
    listDownloads(db, project.id, { label }),
    loadLabelChoices(db, project.id),
  ]);
  const ok = DONE[c.req.query("ok") ?? ""];
  return c.html(
    <DownloadsPage c={c} title="Downloads" tab="files">
      <h1>Downloads{label ? `: ${label}` : ""}</h1>
      {ok && <Notice kind="ok">{ok}</Notice>}
      <LabelFilter project={project.name} choices={choices} current={label} />
      {files.length ? (
        <>
          <DownloadTable project={project.name} files={files} />
          {total > files.length && (
            <p class="muted">
              The {files.length} newest of {total} files; the API lists them all.
            </p>
          )}
        </>
      ) : (
        <EmptyDownloads project={project.name} origin={new URL(c.req.url).origin} canWrite={rightsOf(c).write} label={label} />
      )}
    </DownloadsPage>,
  );
});

// Pages of the area itself (new, admin) come before the files' URLs.
downloadRoutes.route("/", uploadRoutes);
downloadRoutes.route("/", editRoutes);

downloadRoutes.get(
  "/p/:project/downloads/:name/details",
  component("web.downloads.file"),
  requireDownloads("read"),
  async (c) => {
    const project = c.get("project");
    const file = await findDownload(c.get("db"), project.id, c.req.param("name"));
    if (!file) return notFoundPage(c);
    const ok = DONE[c.req.query("ok") ?? ""];
    return c.html(
      <DownloadsPage c={c} title={file.name} tab="file" crumbs={[{ label: file.name }]}>
        {ok && <Notice kind="ok">{ok}</Notice>}
        <FileDetails project={project.name} file={file} canWrite={rightsOf(c).write} />
      </DownloadsPage>,
    );
  },
);

// The file itself. GET never changes state but the counter, bumped once the response is under way.
downloadRoutes.get("/p/:project/downloads/:name", component("web.downloads.get"), requireDownloads("read"), async (c) => {
  const project = c.get("project");
  const db = c.get("db");
  const file = await findDownloadRow(db, project.id, c.req.param("name"));
  if (!file) return notFoundPage(c);
  const served = await serveDownload(c.env.OBJECTS, c.get("tenant").id, file, {
    method: c.req.method,
    header: (n) => c.req.header(n),
  });
  if (!served) return notFoundPage(c);
  if (served.counts) c.executionCtx.waitUntil(countDownload(db, file.id));
  return served.response;
});

downloadRoutes.post(
  "/p/:project/downloads/:name/delete",
  component("web.downloads.delete"),
  requireDownloads("write"),
  async (c) => {
    const project = c.get("project");
    const { user } = await webIdentity(c);
    await deleteDownload(c.get("db"), c.env.OBJECTS, c.get("tenant").id, project.id, user!, c.req.param("name"));
    return c.redirect(`${downloadsBase(project.name)}/?ok=deleted`, 303);
  },
);
