// A push, end to end: the pack is streamed into R2, indexed with bounded memory (thin packs get
// their bases appended), checked for connectivity, then every ref update is committed in one
// Durable Object transaction with compare-and-swap. Nothing is visible until that commit.
import type { Env } from "../env";
import { decodedBody } from "../git/content-encoding";
import { GitError } from "../git/errors";
import { PktResponse, pkt, FLUSH } from "../git/pkt-line";
import { readPushRequest, reportLines } from "../git/receive-pack";
import { repoStub } from "../services/repositories";
import { uploadStarted } from "../services/upload-activity";
import { r2Keys } from "../storage/keys";
import { R2StreamWriter } from "../storage/r2-writer";
import { randomId } from "../utils/crypto";
import { applyPush, mib, type PushContext } from "./apply-push";

// The push worker and the tests name the context of a push from here.
export type { PushContext } from "./apply-push";

const encoder = new TextEncoder();

/**
 * Stores the pushed pack while it fits in `room` (or `declared`, its size from Content-Length,
 * says it cannot: then nothing is stored). Either way the body is read to its end: git sends all
 * of it before it reads the answer, and a body left unread resets the connection, so git would
 * print "curl 55 ... Connection reset" and "Everything up-to-date" instead of the reason.
 */
async function receiveInto(
  writer: R2StreamWriter,
  pack: ReadableStream<Uint8Array>,
  room: number,
  declared: number | null,
): Promise<{ stored: number; bytes: number; over: boolean; error: unknown }> {
  const reader = pack.getReader();
  let bytes = 0;
  let over = declared !== null && declared > room;
  let error: unknown = null;
  for (;;) {
    let step: Awaited<ReturnType<typeof reader.read>>;
    try {
      step = await reader.read();
    } catch (err) {
      error = err; // the body itself broke (say, corrupt gzip): nothing more can be read
      break;
    }
    if (step.done) break;
    bytes += step.value.length;
    if (over || error) continue;
    if (bytes > room) {
      over = true;
      await writer.abort(); // frees what was buffered; the rest is only counted
      continue;
    }
    try {
      await writer.write(step.value);
    } catch (err) {
      error = err;
    }
  }
  if (!over && !error) {
    try {
      return { stored: await writer.finish(), bytes, over, error };
    } catch (err) {
      error = err;
    }
  }
  await writer.abort();
  return { stored: 0, bytes, over, error };
}

export async function receivePack(env: Env, ctx: PushContext, request: Request): Promise<Response> {
  // Under way until the push is applied, after the response began: derived work yields to it.
  const end = uploadStarted();
  let applying: Promise<void> | undefined;
  try {
    return await receive(env, ctx, request, (work) => {
      applying = work;
    });
  } finally {
    if (applying) applying.then(end, end);
    else end();
  }
}

async function receive(env: Env, ctx: PushContext, request: Request, started: (work: Promise<void>) => void): Promise<Response> {
  if (!request.body) return new Response("a push needs a request body\n", { status: 400 });
  const body = decodedBody(request.body, request.headers.get("content-encoding"));
  let push: Awaited<ReturnType<typeof readPushRequest>>;
  try {
    push = await readPushRequest(body);
  } catch (err) {
    if (err instanceof GitError) return new Response(`${err.message}\n`, { status: 400 });
    throw err;
  }
  const headers = { "content-type": "application/x-git-receive-pack-result", "cache-control": "no-cache" };
  // The "0000" probe git sends before a large chunked push: nothing to do.
  if (push.commands.length === 0) return new Response(null, { status: 200, headers });

  const sideband = push.capabilities.has("side-band-64k");
  const quiet = push.capabilities.has("quiet");
  const atomic = push.capabilities.has("atomic");
  const out = new PktResponse();
  const progress = async (message: string) => {
    if (sideband && !quiet) await out.band(2, encoder.encode(message));
  };

  const stub = repoStub(env, ctx.repo);
  const snapshot = await stub.snapshot();
  const repoBytes = snapshot.packs.reduce((n, p) => n + p.bytes, 0);

  // Receive the pack before answering: git sends all of it before it reads a byte of the reply.
  const packName = `pack-${randomId(24)}`;
  const packKey = r2Keys.pack(ctx.repo.tenantId, ctx.repo.repoId, packName);
  let received = 0;
  let unpackError: string | null = null;
  if (push.pack) {
    const room = Math.max(0, ctx.maxRepoBytes - repoBytes);
    // Without compression, Content-Length tells the pack's size before a byte of it is read.
    const length = Number(request.headers.get("content-length") ?? NaN);
    const declared = request.headers.has("content-encoding") || !Number.isSafeInteger(length) ? null : length - push.headBytes;
    const got = await receiveInto(new R2StreamWriter(env.OBJECTS, packKey), push.pack, room, declared);
    received = got.stored;
    if (got.over) {
      unpackError =
        `repository would exceed this forge's limit of ${mib(ctx.maxRepoBytes)} ` +
        `(it holds ${mib(repoBytes)} already, this push sends ${mib(got.bytes)})`;
    } else if (got.error instanceof GitError) {
      unpackError = got.error.message; // e.g. a gzip body that breaks off mid-pack
    } else if (got.error) {
      console.error(JSON.stringify({ level: "error", message: `storing a pushed pack failed: ${String(got.error)}` }));
      unpackError = "the forge could not store the pack; nothing was changed, please push again";
    }
  }

  const work = (async () => {
    const results = await applyPush(env, ctx, push.commands, {
      snapshot,
      packKey,
      packName,
      received,
      unpackError,
      atomic,
      progress,
    });
    const report = reportLines(results.unpackError, results.commands);
    if (sideband) {
      const inner = [...report.map((l) => pkt(`${l}\n`)), FLUSH];
      for (const p of inner) await out.band(1, p);
      await out.flush();
    } else if (push.capabilities.has("report-status") || push.capabilities.has("report-status-v2")) {
      for (const l of report) await out.line(l);
      await out.flush();
    }
    await out.close();
  })();
  started(work);
  work.catch(async (err) => {
    console.error(JSON.stringify({ level: "error", message: String((err as Error)?.stack ?? err) }));
    try {
      if (sideband) await out.band(3, encoder.encode("the push service failed; nothing was changed\n"));
      await out.close();
    } catch {
      await out.abort(err).catch(() => undefined);
    }
  });
  return new Response(out.stream, { status: 200, headers });
}
