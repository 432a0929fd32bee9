// A tagged info line of background work: `<tag> {json}` as the message of a structured log line.
// The runner prints it as `info: <tag> {...}`, and the benchmarks (bench/after-import.ts,
// bench/checkpoint-rate.ts) read the JSON after the tag, so every such line has this one shape.

/** Writes one info line whose message is `tag` followed by `fields` as JSON. */
export function logInfo(tag: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ level: "info", message: `${tag} ${JSON.stringify(fields)}` }));
}
