import type { BackupFileView } from "../../lib/api";

export type SortKey = "createdAt" | "name" | "size" | "scheme" | "destination";
export type SortDir = "asc" | "desc";

function key(f: BackupFileView, k: SortKey): string | number {
  switch (k) {
    case "createdAt":
      return f.createdAt;
    case "name":
      return f.name.toLowerCase();
    case "size":
      return f.size;
    case "scheme":
      return (f.schemeName ?? "").toLowerCase();
    case "destination":
      return f.destinationName.toLowerCase();
  }
}

/** The rows to show: those matching every word of `filter`, sorted by `sortKey`. */
export function visibleFiles(
  files: readonly BackupFileView[],
  filter: string,
  sortKey: SortKey,
  dir: SortDir,
): BackupFileView[] {
  const needles = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const rows =
    needles.length === 0
      ? [...files]
      : files.filter((f) => {
          const hay = `${f.name} ${f.schemeName ?? ""} ${f.destinationName} ${
            f.partial ? "partial" : ""
          } ${f.verified ? "verified" : "unverified"}`.toLowerCase();
          return needles.every((n) => hay.includes(n));
        });
  const sign = dir === "asc" ? 1 : -1;
  rows.sort((a, b) => {
    const x = key(a, sortKey);
    const y = key(b, sortKey);
    if (x < y) return -sign;
    if (x > y) return sign;
    return b.id - a.id;
  });
  return rows;
}

/** The slice of rows a virtualised list of fixed-height rows shows, with a margin. */
export function windowOf(
  count: number,
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  overscan = 8,
): { start: number; end: number } {
  const start = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const end = Math.min(count, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return { start, end };
}
