// `npm start`: runs the whole forge locally (both workers, KV, D1, R2, Durable Objects on workerd).
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { LocalForge } from "./local/runner";
import { projectRoot } from "./local/build";
import { DEMO, seedDemo } from "./local/demo";

const port = Number(process.env.PORT ?? 8787);
const stateDir = process.env.FORGE_STATE ?? join(projectRoot, ".forge", "state");
const platformHost = process.env.FORGE_PLATFORM_HOST ?? "admin.localhost";
const verbose = process.env.FORGE_LOG !== "quiet";

function printLog(line: string): void {
  // Account mail (confirmation and reset links) is printed even when quiet: locally it goes nowhere else.
  if (!verbose && !line.startsWith('{"level":"mail"')) return;
  if (!line.startsWith("{")) return void console.log(line);
  try {
    const e = JSON.parse(line) as {
      method?: string;
      host?: string;
      path?: string;
      status?: number;
      ms?: number;
      component?: string;
      level?: string;
      message?: string;
    };
    if (e.level) return void console.log(`${e.level}: ${e.message}`);
    console.log(`${e.method} ${e.host}${e.path} ${e.status} ${e.ms}ms ${e.component}`);
  } catch {
    console.log(line);
  }
}

/**
 * Start-up steps, printed even when quiet: test/e2e/runner.ts waits as long as they keep coming
 * (a loaded machine is slow, not stuck) and names the one that stalls.
 */
const phase = (what: string) => console.log(`starting: ${what}`);

const forge = new LocalForge({ port, stateDir, platformHost, onLog: printLog });
await forge.start(phase);
const demoToken = await seedDemo(forge, platformHost, phase);
if (demoToken) writeFileSync(join(stateDir, "demo-token"), `${demoToken}\n`, { mode: 0o600 });

console.log(`
Edgeforge is running.
  Demo forge:       ${forge.url(DEMO.host)}/
  Demo project:     ${forge.url(DEMO.host)}/p/${DEMO.project.name}/
  Demo sign-in:     ${DEMO.owner.username} / ${DEMO.owner.password} (forge admin)
  Platform admin:   ${forge.url(platformHost)}/api/v1/openapi.json
  Operations page:  ${forge.url(platformHost)}/admin/ops (sign in with the admin token)
  Admin token:      ${forge.adminToken}
  State folder:     ${stateDir}
${demoToken ? `  Demo owner token: ${demoToken} (user ${DEMO.owner.username}, saved in the state folder)\n` : ""}
Try: curl -H 'Host: ${DEMO.host}' http://127.0.0.1:${forge.port}/
     npx forge tenants list
Press Ctrl-C to stop.
ready on port ${forge.port}`);

// Miniflare's own handlers exit at once; ours first lets in-flight requests finish.
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.removeAllListeners(signal);
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping...");
    await forge.stop();
    process.exit(0);
  });
}
