// Splitting lists into parts of a bounded size (statements within the database's bound parameters).

/** `items` in consecutive parts of at most `size` (none for an empty list). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
