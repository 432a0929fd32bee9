// Types of the values the tenant app's middleware puts on every request's context.
import type { Env } from "../env";
import type { RequestMeter } from "../obs/meter";
import type { TenantRecord } from "../storage/directory";
import type { TenantDb } from "../db/tenant-db";
import type { SessionClaims } from "../auth/session";
import type { Viewer } from "../auth/access";
import type { Authenticated } from "../services/credentials";
import type { User } from "../services/users";
import type { Project } from "../services/projects";
import type { TrackerRights } from "../services/issues";
import type { SourceRepo } from "../services/source";
import type { SourceUrls } from "../views/source";
import type { Context } from "hono";
import type { ForgeError } from "../utils/errors";

export interface AppVariables {
  meter: RequestMeter;
  tenant: TenantRecord;
  db: TenantDb;
  /** The verified session cookie's claims (no query behind them), null when signed out. */
  session: SessionClaims | null;
  /** The signed-in user and their Viewer, loaded on first use (routes/middleware/session.ts). */
  identity?: Promise<{ user: User | null; viewer: Viewer }>;
  /** The Authorization header's user (undefined: no header, null: a wrong one), checked on first use. */
  credential?: Promise<Authenticated | null | undefined>;
  // Set by the route's guard (routes/middleware/guards.ts), so read only behind one.
  /** The signed-in user (requireUser, requireAdmin). */
  user: User;
  /** The URL's project (requireProjectAdmin, requireGitAccess). */
  project: Project;
  /** Who a git request acts for (requireGitAccess). */
  viewer: Viewer;
  /**
   * Page data a guard started as soon as the project was known, read beside the session check
   * (guards.ts `Prefetch`); the handler awaits it only after the access check.
   */
  prefetched?: Promise<unknown>;
  /** How this route shows a refused form (showFormErrors), once it has read the form. */
  formErrors?: (failure: FormFailure) => Response | Promise<Response>;
  /** A source page's project, viewer and opened repository (requireSource). */
  source: SourcePage;
  /** The URL's project with the viewer's rights in its tracker (requireTracker). */
  tracker: Tracker;
  /** The URL's project and what the viewer may do in its wiki (requireWiki, requireApiWiki). */
  wiki: WikiArea;
}

/** A project's wiki as one viewer sees it. */
export interface WikiArea {
  project: Project;
  user: User | null;
  viewer: Viewer;
  /** canAccess(viewer, project, "wiki", "write"): members edit, revert, delete and upload. */
  canWrite: boolean;
  /** Owners configure the wiki's phases. */
  canConfigure: boolean;
}

/** A project's tracker as one viewer sees it. */
export interface Tracker {
  project: Project;
  user: User | null;
  viewer: Viewer;
  rights: TrackerRights;
}

export type AppEnv = { Bindings: Env; Variables: AppVariables };

/** What every source page works from. */
export interface SourcePage {
  c: Context<AppEnv>;
  project: Project;
  viewer: Viewer;
  src: SourceRepo;
  urls: SourceUrls;
  /** Anyone may read this project's source: responses may sit in shared caches. */
  isPublic: boolean;
}

/** A refused form action: what to tell the person, and the status of the page that says it. */
export interface FormFailure {
  status: 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 429 | 503;
  message: string;
  error: ForgeError;
}
