// Fault injection for tests of the push path: with ALLOW_FAULTS=1 (test configurations only), a
// request's `X-Forge-Fault` header makes one binding fail the way production ones can:
//   r2-write   every R2 write (put, multipart part or completion) fails
//   do-commit  the repository's Durable Object fails its commit (as if it restarted)
// and on the edge, for tests of telemetry:
//   slow:<component>:<ms>  a request of that component answers <ms> later (at most 10 s)
import type { Env } from "../env";

export type Fault = "r2-write" | "do-commit";

export function faultOf(env: Env, request: Request): Fault | null {
  if (env.ALLOW_FAULTS !== "1") return null;
  const fault = request.headers.get("x-forge-fault");
  return fault === "r2-write" || fault === "do-commit" ? fault : null;
}

export interface SlowFault {
  component: string;
  ms: number;
}

const SLOW_MAX_MS = 10_000;

export function slowFaultOf(env: Env, request: Request): SlowFault | null {
  if (env.ALLOW_FAULTS !== "1") return null;
  const m = /^slow:([a-z0-9._-]+):(\d{1,5})$/.exec(request.headers.get("x-forge-fault") ?? "");
  return m ? { component: m[1]!, ms: Math.min(SLOW_MAX_MS, Number(m[2])) } : null;
}

const fail = (what: string) => Promise.reject(new Error(`injected fault: ${what}`));

function failingUpload(upload: R2MultipartUpload): R2MultipartUpload {
  return new Proxy(upload, {
    get(target, prop, receiver) {
      if (prop === "uploadPart" || prop === "complete") return () => fail(`R2 ${String(prop)}`);
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export function withFault(env: Env, fault: Fault | null): Env {
  if (!fault) return env;
  if (fault === "r2-write") {
    const bucket = new Proxy(env.OBJECTS, {
      get(target, prop, receiver) {
        if (prop === "put") return () => fail("R2 put");
        if (prop === "createMultipartUpload") {
          return async (key: string) => failingUpload(await target.createMultipartUpload(key));
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return { ...env, OBJECTS: bucket };
  }
  const ns = env.REPO;
  const repo = new Proxy(ns, {
    get(target, prop, receiver) {
      if (prop === "get") {
        return (id: DurableObjectId) => {
          const stub = target.get(id);
          return new Proxy(stub, {
            get(s, p, r) {
              if (p === "update") return () => fail("Durable Object commit");
              const v = Reflect.get(s, p, r);
              return typeof v === "function" ? v.bind(s) : v;
            },
          });
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { ...env, REPO: repo };
}
