// Hands each request's meter to the Hono apps that serve it.
import type { RequestMeter } from "./meter";

const meters = new WeakMap<Request, RequestMeter>();

export const attachMeter = (request: Request, meter: RequestMeter) => meters.set(request, meter);
export const meterOf = (request: Request): RequestMeter | undefined => meters.get(request);
