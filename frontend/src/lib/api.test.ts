import { describe, expect, it } from "vitest";
import { mockIPC } from "@tauri-apps/api/mocks";
import {
  AppError,
  deleteScheme,
  deleteSite,
  listSites,
  removeSiteToken,
  runHistory,
  saveScheme,
} from "./api";

describe("api", () => {
  it("returns the data of a successful command", async () => {
    mockIPC((cmd) => {
      if (cmd === "list_sites") return [];
      throw new Error(`unexpected ${cmd}`);
    });
    await expect(listSites()).resolves.toEqual([]);
  });

  it("throws an AppError carrying the backend code and message", async () => {
    mockIPC(() => {
      throw { code: "NotFound", message: "Site 7 does not exist." };
    });
    const error = await deleteSite(7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "NotFound", message: "Site 7 does not exist.", field: null });
  });

  it("keeps the field an invalid input names", async () => {
    mockIPC(() => {
      throw { code: "InvalidInput", message: "Private key file: enter the full path.", field: "keyPath" };
    });
    const error = await deleteSite(7).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "InvalidInput", field: "keyPath" });
  });

  it("passes arguments in camelCase", async () => {
    let seen: unknown = null;
    mockIPC((cmd, args) => {
      seen = { cmd, args };
      return { id: 3, url: "https://a.atlassian.net", email: "a@b.co", displayName: null, accountId: null, isAdmin: null, lastChecked: null, tokenStored: false };
    });
    await removeSiteToken(3);
    expect(seen).toEqual({ cmd: "remove_site_token", args: { siteId: 3 } });
  });

  it("wraps unexpected failures as Internal", async () => {
    mockIPC(() => {
      throw new Error("boom");
    });
    const error = await listSites().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "Internal", message: "boom" });
  });

  it("hands back per-field scheme errors as data, not as a thrown error", async () => {
    mockIPC((cmd) => {
      if (cmd === "save_scheme")
        return { type: "invalid", errors: [{ field: "days", message: "Choose at least one day of the week." }] };
      throw new Error(`unexpected ${cmd}`);
    });
    const outcome = await saveScheme({
      id: null, name: "Nightly", siteId: 1, kind: "basic", days: [], time: null,
      timeZone: null, keep: null, destinationId: 1, folder: "", paused: false,
    });
    expect(outcome).toEqual({ type: "invalid", errors: [{ field: "days", message: "Choose at least one day of the week." }] });
  });

  it("sends run and scheme arguments in camelCase", async () => {
    const seen: unknown[] = [];
    mockIPC((cmd, args) => {
      seen.push({ cmd, args });
      return cmd === "run_history" ? [] : null;
    });
    await deleteScheme(4, true);
    await runHistory(null, 50);
    expect(seen).toEqual([
      { cmd: "delete_scheme", args: { schemeId: 4, deleteFiles: true } },
      { cmd: "run_history", args: { schemeId: null, limit: 50, beforeRunId: null } },
    ]);
  });
});
