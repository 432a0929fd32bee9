// What the page frame shows about the request (who is signed in) without every page passing it:
// the tenant app runs each request inside this context, and Layout reads it while rendering.
import { AsyncLocalStorage } from "node:async_hooks";

export interface PageContext {
  /** The signed-in user as the session cookie says (no query behind it). */
  account: { username: string; isAdmin: boolean } | null;
  /** Path of the current page, to come back to after signing in. */
  path: string;
}

const storage = new AsyncLocalStorage<PageContext>();

export const runWithPageContext = <T>(context: PageContext, fn: () => T): T => storage.run(context, fn);

export const pageContext = (): PageContext | undefined => storage.getStore();
