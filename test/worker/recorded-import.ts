// An import of a built repository through the push worker's import code, called directly (start,
// upload of one part, complete), its post-push queue a RecordingQueue: what it queued is there for
// the test to deliver to the edge's consumer, which derives in place (no push worker bound).
import { env as workerEnv } from "cloudflare:workers";
import type { Env } from "../../src/env";
import { completeImport, startImport, uploadPart } from "../../src/push/import";
import type { RepoRef } from "../../src/services/repositories";
import type { RepoBuilder } from "./git-fixture";
import { RecordingQueue } from "./recording-queue";

const env = workerEnv as unknown as Env;

/** Imports every object `built` holds into the empty `repo` with `refs` (the first is HEAD). */
export async function importRecorded<T>(
  repo: RepoRef,
  built: RepoBuilder,
  refs: { name: string; oid: string }[],
): Promise<{ queue: RecordingQueue<T>; consumerEnv: Env }> {
  const { pack, checksum } = built.pack();
  const queue = new RecordingQueue<T>();
  const pushEnv = { ...env, POST_PUSH: queue as unknown as Queue } as Env;
  const started = await startImport(pushEnv, repo, { size: pack.length, checksum, refs, head: refs[0]!.name });
  await uploadPart(pushEnv, repo, started.id, 1, new Blob([pack]).stream(), pack.length);
  await completeImport(pushEnv, repo, started.id);
  return { queue, consumerEnv: { ...env, PUSH: undefined, POST_PUSH: queue as unknown as Queue } as Env };
}
