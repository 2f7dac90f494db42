import type { RunProgress } from "../../lib/api";

/** What the control panel shows of the run in progress, folded from `runProgress` events. */
export type LiveRun = {
  schemeIds: number[];
  phase: string;
  done: number;
  total: number | null;
  bytes: number;
  rate: number;
  etaSecs: number | null;
  /** Bytes stored on the destination of the scheme being uploaded. */
  upload: { sent: number; total: number } | null;
};

/** Folds one event into the live state; `null` when no run is going on. */
export function foldProgress(live: LiveRun | null, event: RunProgress): LiveRun | null {
  switch (event.type) {
    case "started":
      return {
        schemeIds: event.schemeIds,
        phase: "starting",
        done: 0,
        total: null,
        bytes: 0,
        rate: 0,
        etaSecs: null,
        upload: null,
      };
    case "snapshot": {
      const base = live ?? foldProgress(null, { type: "started", schemeIds: [], runIds: [] })!;
      return {
        ...base,
        phase: event.phase,
        done: event.done,
        total: event.total,
        bytes: event.bytes,
        rate: event.rate,
        etaSecs: event.etaSecs,
      };
    }
    case "upload": {
      const base = live ?? foldProgress(null, { type: "started", schemeIds: [], runIds: [] })!;
      return { ...base, phase: "upload", upload: { sent: event.sent, total: event.total } };
    }
    case "finished": {
      if (!live) return null;
      const rest = live.schemeIds.filter((id) => id !== event.schemeId);
      return rest.length > 0 ? { ...live, schemeIds: rest } : null;
    }
  }
}

/** The fraction done (0..1) for the bar, or null when the total is unknown. */
export function fraction(live: LiveRun): number | null {
  if (live.upload && live.upload.total > 0) return Math.min(1, live.upload.sent / live.upload.total);
  if (live.total && live.total > 0) return Math.min(1, live.done / live.total);
  return null;
}

/** "12 / 40 items"; a dash while a phase has counted nothing yet (never a misleading "0 items"). */
export function itemsText(live: LiveRun | null): string {
  if (!live || (live.done === 0 && !live.total)) return "—";
  const total = live.total ? ` / ${live.total.toLocaleString("en-US")}` : "";
  return `${live.done.toLocaleString("en-US")}${total} items`;
}
