// Statistics and the side-by-side tables the benchmarks print.

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export type Unit = "ms" | "bytes" | "rps" | "count";

/** A measured number, or why there is none ("not available", "skipped", "failed: ..."). */
export type Cell = number | string;

export interface Row {
  label: string;
  unit: Unit;
  values: Cell[];
}

export function format(value: Cell, unit: Unit): string {
  if (typeof value === "string") return value;
  if (!Number.isFinite(value)) return "-";
  switch (unit) {
    case "ms":
      return value >= 10_000
        ? `${(value / 1000).toFixed(1)} s`
        : value >= 100
          ? `${value.toFixed(0)} ms`
          : `${value.toFixed(1)} ms`;
    case "bytes": {
      const units = ["B", "KiB", "MiB", "GiB"];
      let v = value;
      let i = 0;
      for (; Math.abs(v) >= 1024 && i < units.length - 1; i++) v /= 1024;
      return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
    }
    case "rps":
      return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)}/s`;
    case "count":
      return String(Math.round(value));
  }
}

/**
 * Prints rows with one column per server, then one column per ratio ([numerator, denominator]
 * column indexes, e.g. edgeforge / git-http-backend). A ratio above 1 means the numerator's
 * figure is larger: slower, bigger, or (for "rps" rows) more requests per second.
 */
export function printTable(title: string, columns: string[], rows: Row[], ratios: [number, number][] = []): void {
  const header = ["", ...columns, ...ratios.map(([n, d]) => `${columns[n]} / ${columns[d]}`)];
  const body = rows.map((row) => [
    row.label,
    ...row.values.map((v) => format(v, row.unit)),
    ...ratios.map(([n, d]) => {
      const a = row.values[n];
      const b = row.values[d];
      return typeof a === "number" && typeof b === "number" && b !== 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : "-";
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of body) console.log(line(r));
}
