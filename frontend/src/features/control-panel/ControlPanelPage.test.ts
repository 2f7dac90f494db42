import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import ControlPanelPage from "./ControlPanelPage.svelte";
import { backupFile, destination, ipc, run, scheme } from "../../test/fixtures";

function base(overrides: Record<string, (args: any) => unknown> = {}) {
  return ipc({
    latest_attempt: () => run(),
    list_schemes: () => [scheme()],
    list_backup_files: () => [backupFile()],
    destination_usage: () => [
      { destinationId: 1, used: 1_234_567, quota: 10_000_000, free: 5_000_000_000, files: 1, error: null },
    ],
    list_destinations: () => [destination()],
    ...overrides,
  });
}

describe("Control panel", () => {
  it("shows the failed attempt with its actionable message", async () => {
    const message = "Jira rejected the API token for admin@acme.com. Create a new token.";
    mockIPC(base({ latest_attempt: () => run({ outcome: "failed", message, bytes: null }) }).handler);
    render(ControlPanelPage);
    expect(await screen.findByTestId("latest-message")).toHaveTextContent(message);
    expect(screen.getByTestId("latest-state")).toHaveAttribute("data-state", "failed");
  });

  it("asks before deleting, warns it cannot be recovered, then deletes", async () => {
    let files = [backupFile()];
    const { handler, calls } = base({
      list_backup_files: () => files,
      delete_backup_file: () => {
        files = [];
        return null;
      },
    });
    mockIPC(handler);
    render(ControlPanelPage);
    expect(await screen.findByTestId("contents-counts")).toHaveTextContent("issues");
    await fireEvent.click(await screen.findByTestId("file-delete"));
    expect(screen.getByTestId("delete-dialog")).toHaveTextContent("cannot be recovered");
    expect(calls.some((c) => c.cmd === "delete_backup_file")).toBe(false);
    await fireEvent.click(screen.getByTestId("delete-confirm"));
    await screen.findByTestId("files-empty");
    expect(calls.find((c) => c.cmd === "delete_backup_file")?.args).toEqual({ backupId: 1 });
  });

  it("offers Download… for a file on a server and saves it where the user says", async () => {
    const remote = backupFile({ destinationKind: "sftp", destinationName: "NAS" });
    const { handler, calls } = base({
      list_backup_files: () => [remote],
      download_folder: () => "/home/ann/Downloads",
      download_backup_file: (a: { folder: string }) => `${a.folder}/${remote.name}`,
    });
    mockIPC(handler);
    render(ControlPanelPage);
    await fireEvent.click(await screen.findByTestId("file-download"));
    expect(screen.queryByTestId("file-show")).toBeNull();
    const folder = await screen.findByTestId("download-folder");
    await waitFor(() => expect(folder).toHaveValue("/home/ann/Downloads"));
    expect(screen.getByTestId("download-dialog")).toHaveTextContent("SHA-256");
    await fireEvent.input(folder, { target: { value: "/srv/copies" } });
    await fireEvent.click(screen.getByTestId("download-confirm"));
    expect(await screen.findByTestId("control-status")).toHaveTextContent(
      `Saved /srv/copies/${remote.name}`,
    );
    expect(calls.find((c) => c.cmd === "download_backup_file")?.args).toEqual({
      backupId: 1,
      folder: "/srv/copies",
    });
    expect(screen.queryByTestId("download-dialog")).toBeNull();
  });

  it("shows why a download failed", async () => {
    const message = "The downloaded copy of x.zip does not match the backup that was stored.";
    mockIPC(
      base({
        list_backup_files: () => [backupFile({ destinationKind: "ftp" })],
        download_folder: () => "/tmp",
        download_backup_file: () => {
          throw { code: "SnapshotCorrupt", message };
        },
      }).handler,
    );
    render(ControlPanelPage);
    await fireEvent.click(await screen.findByTestId("file-download"));
    await waitFor(() => expect(screen.getByTestId("download-folder")).toHaveValue("/tmp"));
    await fireEvent.click(screen.getByTestId("download-confirm"));
    expect(await screen.findByTestId("control-error")).toHaveTextContent(message);
  });

  it("starts every scheme with Backup now", async () => {
    const { handler, calls } = base({ run_all_now: () => 1 });
    mockIPC(handler);
    render(ControlPanelPage);
    await waitFor(() => expect(screen.getByTestId("run-all")).toBeEnabled());
    await fireEvent.click(screen.getByTestId("run-all"));
    expect(await screen.findByTestId("control-status")).toHaveTextContent("1 scheme started");
    expect(calls.some((c) => c.cmd === "run_all_now")).toBe(true);
  });
});

describe("Backup files table with 10,000 rows", () => {
  it("draws only the visible rows and filters them all", async () => {
    const many = Array.from({ length: 10_000 }, (_, i) =>
      backupFile({ id: i + 1, name: `acme-basic-${String(i).padStart(5, "0")}.zip` }),
    );
    mockIPC(base({ list_backup_files: () => many }).handler);
    render(ControlPanelPage);
    await waitFor(() => expect(screen.getByTestId("files-count")).toHaveTextContent("10000 files"));
    expect(screen.getAllByTestId("file-row").length).toBeLessThan(40);
    await fireEvent.input(screen.getByTestId("files-filter"), { target: { value: "09999" } });
    await waitFor(() => expect(screen.getAllByTestId("file-row")).toHaveLength(1));
    expect(screen.getByTestId("files-count")).toHaveTextContent("1 of 10000");
  });
});
