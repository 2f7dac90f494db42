import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import SchemesPage from "./SchemesPage.svelte";
import { destination, ipc, scheme, site } from "../../test/fixtures";

function base(overrides: Record<string, (args: any) => unknown> = {}) {
  return ipc({
    list_schemes: () => [scheme()],
    list_sites: () => [site()],
    list_destinations: () => [destination()],
    scheme_presets: () => [{ preset: "basicDaily", label: "Basic daily" }],
    time_zones: () => ["Europe/Berlin"],
    ...overrides,
  });
}

describe("Schemes page", () => {
  it("shows the engine's message next to each invalid field", async () => {
    mockIPC(
      base({
        save_scheme: () => ({
          type: "invalid",
          errors: [
            { field: "name", message: "Enter a name for the scheme." },
            { field: "days", message: "Pick at least one day." },
          ],
        }),
      }).handler,
    );
    render(SchemesPage);
    await waitFor(() => expect(screen.getByTestId("scheme-new")).toBeEnabled());
    await fireEvent.click(screen.getByTestId("scheme-new"));
    await fireEvent.click(screen.getByTestId("scheme-save"));
    expect(await screen.findByTestId("scheme-error-name")).toHaveTextContent("Enter a name");
    expect(screen.getByTestId("scheme-error-days")).toHaveTextContent("at least one day");
    expect(screen.getByTestId("scheme-name")).toHaveAttribute("aria-invalid", "true");
  });

  it("deletes a scheme keeping its files unless asked", async () => {
    const { handler, calls } = base({ delete_scheme: () => null });
    mockIPC(handler);
    render(SchemesPage);
    await fireEvent.click(await screen.findByTestId("scheme-delete"));
    await fireEvent.click(screen.getByTestId("scheme-delete-confirm"));
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === "delete_scheme")?.args).toEqual({
        schemeId: 1,
        deleteFiles: false,
      }),
    );
  });
});

describe("Schemes page editing", () => {
  it("the pencil opens the scheme filled in and saves it under its id", async () => {
    const { handler, calls } = base({
      save_scheme: (args: { input: { id: number } }) => ({ type: "saved", scheme: scheme({ id: args.input.id }) }),
    });
    mockIPC(handler);
    render(SchemesPage);
    await fireEvent.click(await screen.findByTestId("scheme-edit"));
    expect(screen.getByTestId("scheme-name")).toHaveValue("Basic daily");
    expect(screen.getByTestId("scheme-day-sunday")).toBeChecked();
    await fireEvent.input(screen.getByTestId("scheme-keep"), { target: { value: "5" } });
    await fireEvent.click(screen.getByTestId("scheme-save"));
    await waitFor(() => expect(screen.queryByTestId("scheme-dialog")).toBeNull());
    const input = (calls.find((c) => c.cmd === "save_scheme")?.args as { input: Record<string, unknown> }).input;
    expect(input).toMatchObject({ id: 1, name: "Basic daily", keep: 5, folder: "acme" });
  });

  it("deletes the files too only when ticked", async () => {
    const { handler, calls } = base({ delete_scheme: () => null });
    mockIPC(handler);
    render(SchemesPage);
    await fireEvent.click(await screen.findByTestId("scheme-delete"));
    await fireEvent.click(screen.getByTestId("scheme-delete-files"));
    expect(screen.getByTestId("scheme-delete-dialog")).toHaveTextContent("cannot be recovered");
    await fireEvent.click(screen.getByTestId("scheme-delete-confirm"));
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === "delete_scheme")?.args).toEqual({ schemeId: 1, deleteFiles: true }),
    );
  });
});
