// The project home's body, from its view model: description, clone URL (copy button from the
// page script; without it the read-only input is selected and copied by hand), featured
// downloads and wiki pages, the source summary with the README, recent activity and the team.
import type { Child } from "hono/jsx";
import { type EntryView, TimelineEntries } from "./timeline";
import { WatchButton } from "./watch";

export interface FeaturedItem {
  title: string;
  href: string;
  /** A short line under the title (a download's summary, a wiki page's first sentence). */
  note?: string;
}

export interface ProjectHomeView {
  name: string;
  isPrivate: boolean;
  /** The rendered description (views/markdown.ts), null when there is none. */
  description: Child | null;
  /** null: the viewer may not read the source. */
  cloneUrl: string | null;
  /** The source summary with the README (views/source/refs.ts). */
  source: Child | null;
  featuredDownloads: FeaturedItem[];
  featuredWiki: FeaturedItem[];
  recent: EntryView[];
  timelineHref: string;
  team: { username: string; name: string; owner: boolean }[];
  /** Signed in: whether the viewer watches the project (the Watch button); null: signed out. */
  watching: boolean | null;
}

function Featured(props: { title: string; items: FeaturedItem[] }) {
  if (props.items.length === 0) return null;
  return (
    <section class="featured">
      <h2>{props.title}</h2>
      <ul>
        {props.items.map((i) => (
          <li>
            <a href={i.href}>{i.title}</a>
            {i.note && <span class="muted"> · {i.note}</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ProjectHome(v: ProjectHomeView) {
  return (
    <>
      <div class="iss-head">
        <h1>
          {v.name} {v.isPrivate && <span class="badge">private</span>}
        </h1>
        {v.watching !== null && (
          <span class="actions">
            <WatchButton action={`/p/${encodeURIComponent(v.name)}/watch`} watching={v.watching} what="project" />
          </span>
        )}
      </div>
      {v.description ?? <p class="muted">No description.</p>}
      {v.cloneUrl && (
        <div class="clone">
          <label for="clone-url">Clone</label>
          <input id="clone-url" readonly value={v.cloneUrl} />
          <button type="button" data-copy="clone-url" hidden>
            Copy
          </button>
        </div>
      )}
      {v.cloneUrl && <pre class="commands">git clone {v.cloneUrl}</pre>}
      <Featured title="Featured downloads" items={v.featuredDownloads} />
      <Featured title="Featured documentation" items={v.featuredWiki} />
      {v.source}
      <h2>Recent activity</h2>
      {v.recent.length ? <TimelineEntries entries={v.recent} /> : <p class="muted">Nothing has happened here yet.</p>}
      <p>
        <a href={v.timelineHref}>All activity</a>
      </p>
      {v.team.length > 0 && (
        <>
          <h2>Team</h2>
          <p>
            {v.team.map((m, i) => (
              <>
                {i > 0 && ", "}
                <a href={`/u/${encodeURIComponent(m.username)}`}>{m.name}</a>
                {m.owner && <span class="muted"> (owner)</span>}
              </>
            ))}
          </p>
        </>
      )}
    </>
  );
}
