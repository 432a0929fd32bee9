// Server-rendered SVG charts of the operations page: one bar per time slice, each bar a link to
// the log lines of that component and slice (so the charts work without script); ops-script.ts
// adds dragging across a chart to open the lines of a wider range.

export interface SlicePoint {
  t: number;
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface ChartModel {
  component: string;
  since: number;
  until: number;
  sliceMs: number;
  series: SlicePoint[];
  /** The log lines of a range of this component. */
  logsHref: (since: number, until: number) => string;
}

const W = 520;
const H = 110;
const PAD_LEFT = 58;
const PAD_BOTTOM = 16;

const iso = (t: number) => new Date(t).toISOString();
const hhmm = (t: number) => iso(t).slice(11, 16);

/** A round maximum for the axis (1, 2, 5 × 10^n), at least `min`. */
function niceMax(value: number, min = 1): number {
  const v = Math.max(value, min);
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].map((m) => m * p).find((m) => m >= v) ?? 10 * p) as number;
}

function Frame(props: { model: ChartModel; kind: string; label: string; max: number; unit: string; children?: unknown }) {
  const { model } = props;
  const plotH = H - PAD_BOTTOM;
  return (
    <svg
      class="ops-chart"
      viewBox={`0 0 ${W} ${H}`}
      width={W}
      height={H}
      role="img"
      aria-label={`${props.label} of ${model.component}`}
      data-kind={props.kind}
      data-component={model.component}
      data-since={iso(model.series[0]?.t ?? model.since)}
      data-until={iso((model.series[model.series.length - 1]?.t ?? model.until) + model.sliceMs)}
      data-x0={PAD_LEFT}
      data-x1={W}
    >
      <line class="ops-axis" x1={PAD_LEFT} y1={plotH} x2={W} y2={plotH} />
      <line class="ops-grid" x1={PAD_LEFT} y1={0.5} x2={W} y2={0.5} />
      <text class="ops-tick" x={PAD_LEFT - 4} y={10} text-anchor="end">
        {`${props.max}${props.unit}`}
      </text>
      <text class="ops-tick" x={PAD_LEFT - 4} y={plotH} text-anchor="end">
        0
      </text>
      <text class="ops-tick" x={PAD_LEFT} y={H - 2}>
        {hhmm(model.series[0]?.t ?? model.since)}
      </text>
      <text class="ops-tick" x={W} y={H - 2} text-anchor="end">
        {hhmm((model.series[model.series.length - 1]?.t ?? model.until) + model.sliceMs)}
      </text>
      {props.children}
    </svg>
  );
}

function bars(model: ChartModel, max: number, draw: (p: SlicePoint, x: number, w: number, y: (v: number) => number) => unknown) {
  const plotW = W - PAD_LEFT;
  const plotH = H - PAD_BOTTOM;
  const n = Math.max(1, model.series.length);
  const slot = plotW / n;
  const w = Math.max(1, slot - 1);
  const y = (v: number) => plotH - (Math.min(v, max) / max) * (plotH - 2);
  return model.series.map((p, i) => {
    const x = PAD_LEFT + i * slot;
    const label = `${hhmm(p.t)}–${hhmm(p.t + model.sliceMs)} UTC: ${p.requests} requests, ${p.errors} 5xx, p50 ${p.p50} ms, p95 ${p.p95} ms, p99 ${p.p99} ms`;
    return (
      <a
        href={model.logsHref(p.t, p.t + model.sliceMs - 1)}
        class="ops-slice"
        data-t={iso(p.t)}
        data-requests={p.requests}
        data-p99={p.p99}
      >
        <title>{label}</title>
        {/* The whole slot is the link's target, not only the bar's height. */}
        <rect class="ops-hit" x={x} y={0} width={slot} height={plotH} />
        {draw(p, x, w, y)}
      </a>
    );
  });
}

/** Requests per minute, with the 5xx part in the error colour. */
export function RateChart(props: { model: ChartModel }) {
  const { model } = props;
  const perMin = (n: number) => Math.round(((n * 60_000) / model.sliceMs) * 10) / 10;
  const max = niceMax(Math.max(0, ...model.series.map((p) => perMin(p.requests))));
  return (
    <Frame model={model} kind="rate" label="Requests per minute" max={max} unit="/min">
      {bars(model, max, (p, x, w, y) => (
        <>
          {p.requests > 0 && (
            <rect class="ops-req" x={x} y={y(perMin(p.requests))} width={w} height={y(0) - y(perMin(p.requests))} />
          )}
          {p.errors > 0 && <rect class="ops-err" x={x} y={y(perMin(p.errors))} width={w} height={y(0) - y(perMin(p.errors))} />}
        </>
      ))}
    </Frame>
  );
}

/** p99 behind p95 behind p50, in ms. */
export function LatencyChart(props: { model: ChartModel }) {
  const { model } = props;
  const max = niceMax(Math.max(0, ...model.series.map((p) => p.p99)), 10);
  return (
    <Frame model={model} kind="latency" label="Latency p50/p95/p99" max={max} unit=" ms">
      {bars(model, max, (p, x, w, y) =>
        p.requests === 0 ? null : (
          <>
            <rect class="ops-p99" x={x} y={y(p.p99)} width={w} height={y(0) - y(p.p99)} />
            <rect class="ops-p95" x={x} y={y(p.p95)} width={w} height={y(0) - y(p.p95)} />
            <rect class="ops-p50" x={x} y={y(p.p50)} width={w} height={y(0) - y(p.p50)} />
          </>
        ),
      )}
    </Frame>
  );
}
