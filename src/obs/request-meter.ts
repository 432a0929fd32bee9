// Hands each request's meter to the Hono apps that serve it, and to code that has no request at hand.
import { AsyncLocalStorage } from "node:async_hooks";
import type { RequestMeter } from "./meter";

const meters = new WeakMap<Request, RequestMeter>();

export const attachMeter = (request: Request, meter: RequestMeter) => meters.set(request, meter);
export const meterOf = (request: Request): RequestMeter | undefined => meters.get(request);

/**
 * The meter of the request being served, for calls that go through no binding of its env (the
 * Cache API is a global): the edge runs each request inside `withMeter`.
 */
const current = new AsyncLocalStorage<RequestMeter>();
export const withMeter = <T>(meter: RequestMeter, fn: () => T): T => current.run(meter, fn);
export const currentMeter = (): RequestMeter | undefined => current.getStore();
