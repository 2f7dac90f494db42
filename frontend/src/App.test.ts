import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import App from "./App.svelte";
import { ipc, site } from "./test/fixtures";

const EMPTY = {
  latest_attempt: () => null,
  list_schemes: () => [],
  list_backup_files: () => [],
  destination_usage: () => [],
  list_destinations: () => [],
  scheme_presets: () => [],
  time_zones: () => [],
  run_history: () => [],
  get_preferences: () => ({ notifications: "failuresOnly", closeToTray: true, startAtLogin: false }),
};

describe("App shell", () => {
  it("starts on Configuration when no site exists and navigates between pages", async () => {
    mockIPC(ipc({ ...EMPTY, list_sites: () => [] }).handler);
    render(App);
    expect(screen.getByText("Backup Center")).toBeInTheDocument();
    await screen.findByTestId("page-configuration");
    expect(screen.getByTestId("nav-configuration")).toHaveAttribute("aria-current", "page");

    await fireEvent.click(screen.getByTestId("nav-control-panel"));
    expect(await screen.findByTestId("latest-none")).toHaveTextContent("No backup has run yet");
    expect(screen.queryByTestId("page-configuration")).toBeNull();

    await fireEvent.click(screen.getByTestId("nav-schemes"));
    expect(await screen.findByTestId("schemes-need-config")).toHaveTextContent(
      "A scheme needs a Jira site and a destination",
    );
    expect(screen.queryByTestId("page-control-panel")).toBeNull();

    await fireEvent.click(screen.getByTestId("nav-history"));
    expect(await screen.findByTestId("page-history")).toHaveTextContent("No run yet.");

    await fireEvent.click(screen.getByTestId("nav-configuration"));
    expect(await screen.findByTestId("page-configuration")).toBeInTheDocument();
    expect(screen.queryByTestId("page-schemes")).toBeNull();
  });

  it("starts on the Control panel when a site exists", async () => {
    mockIPC(ipc({ ...EMPTY, list_sites: () => [site()] }).handler);
    render(App);
    expect(await screen.findByTestId("page-control-panel")).toBeInTheDocument();
    expect(screen.getByTestId("nav-control-panel")).toHaveAttribute("aria-current", "page");
  });
});
