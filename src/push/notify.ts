// Telling the edge worker's queue that a push landed: the event, split under the queue's
// message limit when a push updates many refs, sent in batches the queue accepts.
import type { Env } from "../env";
import type { PushedEvent } from "../services/push-events";
import { randomId } from "../utils/crypto";

/**
 * Largest serialized event, in bytes of JSON. A Queue message may hold 128 KB (as serialized for
 * the queue, which for these ASCII fields is no larger than their JSON); the rest is headroom.
 */
export const MAX_EVENT_BYTES = 96_000;
/** Largest sendBatch() call: at most 100 messages and 256 KB in all. */
const MAX_BATCH_MESSAGES = 100;
const MAX_BATCH_BYTES = 192_000;

const encoder = new TextEncoder();

const jsonBytes = (value: unknown) => encoder.encode(JSON.stringify(value)).length;

/**
 * The event as queue messages of at most `maxBytes` each: one when it fits, else parts that share
 * its updates in order, each carrying the push's id and counts. `known` is trimmed to half a
 * message if need be: a shorter list only makes commit links read more history (their comments
 * are keyed per commit and issue, so nothing is linked twice).
 */
export function splitPushedEvent(event: PushedEvent, maxBytes = MAX_EVENT_BYTES): PushedEvent[] {
  if (jsonBytes(event) <= maxBytes) return [event];
  const part = { id: randomId(16), index: 0, count: 0, refs: event.updates.length };
  // Sized with the widest numbers a part can carry.
  const frame = { ...event, updates: [], part: { ...part, index: 99_999, count: 99_999 } };
  let known = event.known;
  if (known && jsonBytes(frame) > maxBytes / 2) {
    const room = maxBytes / 2 - jsonBytes({ ...frame, known: [] });
    known = known.slice(0, Math.max(0, Math.floor(room / 43))); // 40 hex digits, 2 quotes, 1 comma
  }
  const frameBytes = jsonBytes({ ...frame, known });
  const parts: PushedEvent["updates"][] = [[]];
  let bytes = frameBytes;
  for (const u of event.updates) {
    const size = jsonBytes(u) + 1;
    if (bytes + size > maxBytes && parts[parts.length - 1]!.length > 0) {
      parts.push([]);
      bytes = frameBytes;
    }
    parts[parts.length - 1]!.push(u);
    bytes += size;
  }
  return parts.map((updates, index) => ({ ...event, updates, known, part: { ...part, index, count: parts.length } }));
}

/** Post-push work (timeline, issue links, derived data) runs elsewhere, off the push's critical path. */
export async function notifyPushed(env: Env, event: PushedEvent): Promise<void> {
  const queue = env.POST_PUSH as Queue<PushedEvent> | undefined;
  if (!queue) return;
  const messages = splitPushedEvent(event);
  let sent = 0;
  try {
    if (messages.length === 1) {
      await queue.send(messages[0]!);
      sent = 1;
    }
    while (sent < messages.length) {
      const batch: PushedEvent[] = [];
      let bytes = 0;
      for (const m of messages.slice(sent, sent + MAX_BATCH_MESSAGES)) {
        const size = jsonBytes(m);
        if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
        batch.push(m);
        bytes += size;
      }
      await queue.sendBatch(batch.map((body) => ({ body })));
      sent += batch.length;
    }
  } catch (err) {
    // The push is committed; what was not queued is lost (timeline entry, issue links, derived
    // data), so say exactly what, for an operator to replay.
    console.error(
      JSON.stringify({
        level: "error",
        message: `post-push notification failed: ${String(err)}`,
        tenant: event.tenantId,
        repo: event.repoId,
        refs: event.updates.length,
        messages: messages.length,
        sent,
        bytes: messages.map(jsonBytes),
      }),
    );
  }
}
