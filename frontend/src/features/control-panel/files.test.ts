import { describe, expect, it } from "vitest";
import { visibleFiles, windowOf } from "./files";
import { foldProgress, fraction, itemsText } from "./progress";
import { backupFile } from "../../test/fixtures";

describe("backup files table", () => {
  const many = Array.from({ length: 10_000 }, (_, i) =>
    backupFile({
      id: i + 1,
      name: `acme-basic-${String(i).padStart(5, "0")}.zip`,
      createdAt: new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString(),
      size: (i * 7919) % 100_000,
      schemeName: i % 2 ? "Odd" : "Even",
    }),
  );

  it("sorts newest first and filters by every word", () => {
    const rows = visibleFiles(many, "", "createdAt", "desc");
    expect(rows[0].id).toBe(10_000);
    const odd = visibleFiles(many, "odd 0001", "name", "asc");
    expect(odd.every((f) => f.schemeName === "Odd" && f.name.includes("0001"))).toBe(true);
    expect(odd.length).toBeGreaterThan(0);
    const bySize = visibleFiles(many, "", "size", "asc");
    expect(bySize[0].size).toBeLessThanOrEqual(bySize[1].size);
  });

  it("sorts and filters 10,000 rows quickly and renders only a window of them", () => {
    const t = performance.now();
    visibleFiles(many, "even", "size", "desc");
    expect(performance.now() - t).toBeLessThan(200);
    const w = windowOf(10_000, 34 * 5000, 340, 34);
    expect(w.end - w.start).toBeLessThan(40);
    expect(w.start).toBeLessThanOrEqual(5000);
    expect(w.end).toBeGreaterThan(5010);
  });
});

describe("run progress", () => {
  it("folds events into the live run and ends with the last scheme", () => {
    let live = foldProgress(null, { type: "started", schemeIds: [1, 2], runIds: [5, 6] });
    live = foldProgress(live, {
      type: "snapshot",
      phase: "issues",
      done: 50,
      total: 200,
      bytes: 1000,
      rate: 10,
      etaSecs: 15,
    });
    expect(live?.phase).toBe("issues");
    expect(fraction(live!)).toBe(0.25);
    live = foldProgress(live, { type: "upload", schemeId: 1, sent: 30, total: 60 });
    expect(fraction(live!)).toBe(0.5);
    live = foldProgress(live, { type: "finished", schemeId: 1, runId: 5, outcome: "succeeded", message: null });
    expect(live?.schemeIds).toEqual([2]);
    live = foldProgress(live, { type: "finished", schemeId: 2, runId: 6, outcome: "failed", message: "x" });
    expect(live).toBeNull();
  });

  it("shows counted items, and a dash before a phase has counted anything", () => {
    const live = foldProgress(null, { type: "started", schemeIds: [1], runIds: [5] })!;
    expect(itemsText(live)).toBe("—");
    const configuration = { ...live, phase: "configuration", done: 7 };
    expect(itemsText(configuration)).toBe("7 items");
    expect(itemsText({ ...live, phase: "issues", done: 1200, total: 20000 })).toBe(
      "1,200 / 20,000 items",
    );
    expect(itemsText(null)).toBe("—");
  });
});
