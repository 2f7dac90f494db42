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
