import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import ConfigurationPage from "./ConfigurationPage.svelte";
import { ipc, report, site } from "../../test/fixtures";

async function fill(testId: string, value: string) {
  await fireEvent.input(screen.getByTestId(testId), { target: { value } });
}

async function fillNewSite() {
  await fill("site-url", "https://acme.atlassian.net");
  await fill("site-email", "admin@acme.com");
  await fill("site-token", "secret-token");
}

async function renderLoaded() {
  render(ConfigurationPage);
  await screen.findByTestId("page-configuration");
  // The list is loaded on mount; wait until the form is enabled.
  await waitFor(() => expect(screen.getByTestId("site-test")).toBeEnabled());
}

describe("Configuration page", () => {
  it("shows the backend message when the connection test fails", async () => {
    const message = "Jira rejected the API token for admin@acme.com. Create a new token and try again.";
    const { handler, calls } = ipc({
      list_sites: () => [],
      test_connection: () => {
        throw { code: "JiraAuth", message };
      },
    });
    mockIPC(handler);
    await renderLoaded();
    expect(screen.queryByTestId("site-new")).toBeNull();

    await fillNewSite();
    await fireEvent.click(screen.getByTestId("site-test"));

    const error = await screen.findByTestId("site-error");
    expect(error).toHaveTextContent(message);
    expect(error).toHaveAttribute("role", "alert");
    expect(screen.queryByTestId("connection-result")).toBeNull();
    expect(calls.find((c) => c.cmd === "test_connection")?.args).toEqual({
      draft: { id: null, url: "https://acme.atlassian.net", email: "admin@acme.com", token: "secret-token" },
    });
  });

  it("shows the user and admin status for an administrator", async () => {
    const { handler } = ipc({
      list_sites: () => [],
      test_connection: () => report({ displayName: "Ada Admin", isAdmin: true }),
    });
    mockIPC(handler);
    await renderLoaded();
    await fillNewSite();
    await fireEvent.click(screen.getByTestId("site-test"));

    await screen.findByTestId("connection-result");
    expect(screen.getByTestId("display-name").textContent).toBe("Ada Admin");
    expect(screen.getByTestId("admin-status")).toHaveTextContent(/^Jira administrator$/);
    expect(screen.queryByTestId("partial-warning")).toBeNull();
    expect(screen.queryByTestId("site-error")).toBeNull();
    expect(screen.getByTestId("connection-result")).toHaveTextContent("Acme Jira");
  });

  it("warns that snapshots will be partial for a non-administrator", async () => {
    const { handler } = ipc({
      list_sites: () => [],
      test_connection: () => report({ displayName: "Uma User", isAdmin: false }),
    });
    mockIPC(handler);
    await renderLoaded();
    await fillNewSite();
    await fireEvent.click(screen.getByTestId("site-test"));

    const warning = await screen.findByTestId("partial-warning");
    expect(warning).toHaveTextContent("This account is not a Jira administrator. Snapshots will be partial");
    expect(screen.getByTestId("admin-status")).toHaveTextContent(/^Not a Jira administrator$/);
    expect(screen.getByTestId("display-name").textContent).toBe("Uma User");
  });

  it("never shows a stored token; Replace reveals an input and Remove asks first", async () => {
    const { handler, calls } = ipc({
      list_sites: () => [site({ tokenStored: true })],
      remove_site_token: (args: { siteId: number }) => site({ id: args.siteId, tokenStored: false }),
    });
    mockIPC(handler);
    await renderLoaded();

    expect(screen.getAllByTestId("site-item")[0]).toHaveTextContent("https://acme.atlassian.net");
    expect(screen.getByTestId("site-new")).toBeInTheDocument();
    expect(screen.getByTestId("token-stored")).toHaveTextContent("API token stored in the system keychain");
    expect(screen.queryByTestId("site-token")).toBeNull();
    expect(screen.getByTestId("site-url")).toHaveValue("https://acme.atlassian.net");

    await fireEvent.click(screen.getByTestId("token-replace"));
    const input = screen.getByTestId("site-token");
    expect(input).toHaveAttribute("type", "password");
    expect(input).toHaveValue("");
    expect(screen.getByLabelText("API token")).toBe(input);

    // Cancel the replacement, then remove the token through the inline confirmation.
    await fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.getByTestId("token-stored")).toBeInTheDocument();
    await fireEvent.click(screen.getByTestId("token-remove"));
    expect(calls.some((c) => c.cmd === "remove_site_token")).toBe(false);
    await fireEvent.click(screen.getByTestId("token-remove-confirm"));

    await waitFor(() => expect(screen.queryByTestId("token-stored")).toBeNull());
    expect(calls.find((c) => c.cmd === "remove_site_token")?.args).toEqual({ siteId: 1 });
    expect(screen.getByTestId("site-token")).toBeInTheDocument();
  });

  it("validates before calling the backend", async () => {
    const { handler, calls } = ipc({ list_sites: () => [] });
    mockIPC(handler);
    await renderLoaded();
    await fill("site-url", "http://example.com");
    await fill("site-email", "not-an-email");
    await fireEvent.click(screen.getByTestId("site-test"));

    expect(screen.getByTestId("error-url")).toHaveTextContent(
      "Use an https:// address, e.g. https://your-team.atlassian.net",
    );
    expect(screen.getByTestId("error-email")).toHaveTextContent("Enter a valid email address");
    expect(screen.getByTestId("error-token")).toHaveTextContent("Enter the API token");

    await fireEvent.click(screen.getByTestId("site-save"));
    // Only the sites section's load: the destinations and preferences sections load their own.
    const siteCalls = calls.map((c) => c.cmd).filter((c) => c.includes("site") || c.includes("connection"));
    expect(siteCalls).toEqual(["list_sites"]);
  });

  it("saves the draft, selects the saved site and then tests it without a token", async () => {
    const saved = site({ id: 42, url: "https://acme.atlassian.net", displayName: null, isAdmin: null, lastChecked: null });
    let stored: ReturnType<typeof site>[] = [];
    const { handler, calls } = ipc({
      list_sites: () => stored,
      save_site: () => {
        stored = [saved];
        return saved;
      },
      test_connection: () => report({ isAdmin: true }),
    });
    mockIPC(handler);
    await renderLoaded();
    await fill("site-url", "https://acme.atlassian.net/");
    await fill("site-email", "admin@acme.com");
    await fill("site-token", "secret-token");
    await fireEvent.click(screen.getByTestId("site-save"));

    expect(await screen.findByTestId("save-status")).toHaveTextContent("Saved.");
    await screen.findByTestId("connection-result");

    const commands = calls.map((c) => c.cmd);
    expect(commands.indexOf("save_site")).toBeLessThan(commands.indexOf("test_connection"));
    expect(calls.find((c) => c.cmd === "save_site")?.args).toEqual({
      draft: { id: null, url: "https://acme.atlassian.net/", email: "admin@acme.com", token: "secret-token" },
    });
    expect(calls.find((c) => c.cmd === "test_connection")?.args).toEqual({
      draft: { id: 42, url: "https://acme.atlassian.net", email: "admin@acme.com", token: null },
    });

    // The saved site is listed and selected, the URL shown as returned, the token cleared.
    expect(screen.getAllByTestId("site-item")).toHaveLength(1);
    expect(screen.getByTestId("site-url")).toHaveValue("https://acme.atlassian.net");
    expect(screen.getByTestId("token-stored")).toBeInTheDocument();
    expect(screen.queryByTestId("site-token")).toBeNull();
  });

  it("deletes a site after an inline confirmation", async () => {
    let stored = [site()];
    const { handler, calls } = ipc({
      list_sites: () => stored,
      delete_site: () => {
        stored = [];
        return null;
      },
    });
    mockIPC(handler);
    await renderLoaded();
    await fireEvent.click(screen.getByTestId("site-delete"));
    expect(calls.some((c) => c.cmd === "delete_site")).toBe(false);
    await fireEvent.click(screen.getByTestId("site-delete-confirm"));

    await waitFor(() => expect(screen.queryByTestId("site-item")).toBeNull());
    await waitFor(() => expect(screen.getByTestId("site-url")).toHaveValue(""));
    expect(calls.find((c) => c.cmd === "delete_site")?.args).toEqual({ siteId: 1 });
    expect(screen.getByTestId("site-token")).toBeInTheDocument();
    expect(screen.getByTestId("site-url")).toHaveValue("");
  });

  it("starts a new site from the list", async () => {
    const { handler } = ipc({ list_sites: () => [site()] });
    mockIPC(handler);
    await renderLoaded();
    await fireEvent.click(screen.getByTestId("site-new"));
    expect(screen.getByTestId("site-url")).toHaveValue("");
    expect(screen.getByTestId("site-token")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Add a site" })).toBeInTheDocument();
  });
});
