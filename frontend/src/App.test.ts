import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import App from "./App.svelte";
import { ipc, site } from "./test/fixtures";

describe("App shell", () => {
  it("starts on Configuration when no site exists and navigates between pages", async () => {
    mockIPC(ipc({ list_sites: () => [] }).handler);
    render(App);
    expect(screen.getByText("Backup Center")).toBeInTheDocument();
    await screen.findByTestId("page-configuration");
    expect(screen.getByTestId("nav-configuration")).toHaveAttribute("aria-current", "page");

    await fireEvent.click(screen.getByTestId("nav-control-panel"));
    expect(screen.getByTestId("page-control-panel")).toHaveTextContent(
      "latest backup, live progress, storage usage and every backup file will appear here once schemes exist",
    );
    expect(screen.queryByTestId("page-configuration")).toBeNull();

    await fireEvent.click(screen.getByTestId("nav-schemes"));
    expect(screen.getByTestId("page-schemes")).toHaveTextContent(
      "Automatic Basic and Extended backups on a schedule — coming next",
    );
    expect(screen.queryByTestId("page-control-panel")).toBeNull();

    await fireEvent.click(screen.getByTestId("nav-configuration"));
    expect(await screen.findByTestId("page-configuration")).toBeInTheDocument();
    expect(screen.queryByTestId("page-schemes")).toBeNull();
  });

  it("starts on the Control panel when a site exists", async () => {
    mockIPC(ipc({ list_sites: () => [site()] }).handler);
    render(App);
    expect(await screen.findByTestId("page-control-panel")).toBeInTheDocument();
    expect(screen.getByTestId("nav-control-panel")).toHaveAttribute("aria-current", "page");
  });
});
