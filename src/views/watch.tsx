// The Watch / Stop watching button of issues, project homes and wiki pages: a POST form, so a
// link followed by a crawler changes nothing.
export function WatchButton(props: { action: string; watching: boolean; what: string }) {
  return (
    <form method="post" action={props.action} class="inline watch">
      <input type="hidden" name="watch" value={props.watching ? "0" : "1"} />
      <button type="submit" title={props.watching ? `Stop mail about this ${props.what}` : `Get mail about this ${props.what}`}>
        {props.watching ? "Stop watching" : "Watch"}
      </button>
    </form>
  );
}
