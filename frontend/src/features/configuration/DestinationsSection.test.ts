import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import DestinationsSection from "./DestinationsSection.svelte";
import { destination, ipc } from "../../test/fixtures";
import type { DestinationDraft } from "../../lib/api";

const PASSPHRASE = "correct horse battery staple";

async function type(testId: string, value: string) {
  await fireEvent.input(screen.getByTestId(testId), { target: { value } });
}

function sent(calls: { cmd: string; args: unknown }[], cmd: string): DestinationDraft {
  const call = calls.filter((c) => c.cmd === cmd).at(-1);
  return (call?.args as { draft: DestinationDraft }).draft;
}

const changed = {
  ok: false,
  steps: [{ step: "connect", label: "connect and log in", status: "failed" }],
  failure: { code: "Tls", message: "The host key changed: a man-in-the-middle?" },
  trust: { subject: "sshHostKey", fingerprint: "SHA256:abc", changed: true },
  unencrypted: false,
};

describe("Destinations", () => {
  it("warns on plain FTP", async () => {
    mockIPC(ipc({ list_destinations: () => [] }).handler);
    render(DestinationsSection);
    await fireEvent.click(screen.getByTestId("destination-kind-ftp"));
    expect(screen.getByTestId("ftp-warning")).toHaveTextContent("unencrypted");
  });

  it("shows the fingerprint and a clear warning when a host key changed", async () => {
    const { handler, calls } = ipc({ list_destinations: () => [], test_destination: () => changed });
    mockIPC(handler);
    render(DestinationsSection);
    await fireEvent.click(screen.getByTestId("destination-kind-sftp"));
    await fireEvent.click(screen.getByTestId("destination-test"));
    const prompt = await screen.findByTestId("trust-prompt");
    expect(prompt).toHaveTextContent("CHANGED");
    expect(screen.getByTestId("trust-fingerprint")).toHaveTextContent("SHA256:abc");
    const draft = (calls.find((c) => c.cmd === "test_destination")?.args as { draft: { port: number } }).draft;
    expect(draft.port).toBe(22);
  });

  it("switches the SFTP login between a password and a key file with an optional passphrase", async () => {
    mockIPC(ipc({ list_destinations: () => [] }).handler);
    render(DestinationsSection);
    await fireEvent.click(screen.getByTestId("destination-kind-sftp"));
    expect(screen.getByTestId("destination-login-password")).toBeChecked();
    expect(screen.getByTestId("destination-password")).toBeInTheDocument();
    expect(screen.queryByTestId("destination-key-path")).toBeNull();

    await fireEvent.click(screen.getByTestId("destination-login-keyFile"));
    expect(screen.queryByTestId("destination-password")).toBeNull();
    expect(screen.getByTestId("destination-key-path")).toBeInTheDocument();
    expect(screen.queryByTestId("destination-passphrase")).toBeNull();
    await fireEvent.click(screen.getByTestId("destination-key-has-passphrase"));
    expect(screen.getByTestId("destination-passphrase")).toHaveAttribute("type", "password");

    await fireEvent.click(screen.getByTestId("destination-login-password"));
    expect(screen.getByTestId("destination-password")).toBeInTheDocument();
    expect(screen.queryByTestId("destination-key-path")).toBeNull();
    expect(screen.queryByTestId("destination-passphrase")).toBeNull();

    // Only SFTP logs in with a key.
    await fireEvent.click(screen.getByTestId("destination-kind-ftps"));
    expect(screen.queryByTestId("destination-login")).toBeNull();
  });

  it("sends a key's passphrase once and never shows it again", async () => {
    const saved = destination({
      name: "NAS",
      kind: "sftp",
      host: "nas",
      port: 22,
      userName: "backup",
      folder: "jira",
      location: "sftp://backup@nas/~/jira",
      sftpLogin: "keyFile",
      keyPath: "/home/me/.ssh/id_ed25519",
      keyHasPassphrase: true,
      passphraseStored: true,
    });
    let list: unknown[] = [];
    const { handler, calls } = ipc({
      list_destinations: () => list,
      save_destination: () => {
        list = [saved];
        return saved;
      },
    });
    mockIPC(handler);
    render(DestinationsSection);
    await fireEvent.click(screen.getByTestId("destination-kind-sftp"));
    await type("destination-name", "NAS");
    await type("destination-host", "nas");
    await type("destination-user", "backup");
    await type("destination-folder", "jira");
    await fireEvent.click(screen.getByTestId("destination-login-keyFile"));
    await type("destination-key-path", " /home/me/.ssh/id_ed25519 ");
    await fireEvent.click(screen.getByTestId("destination-key-has-passphrase"));
    await type("destination-passphrase", PASSPHRASE);
    await fireEvent.click(screen.getByTestId("destination-save"));

    await screen.findByTestId("destination-status");
    expect(sent(calls, "save_destination")).toMatchObject({
      sftpLogin: "keyFile",
      keyPath: "/home/me/.ssh/id_ed25519",
      keyHasPassphrase: true,
      passphrase: PASSPHRASE,
      password: null,
      implicitTls: false,
    });
    const field = screen.getByTestId("destination-passphrase");
    expect(field).toHaveValue("");
    expect(field).toHaveAttribute("placeholder", "stored in the system keychain");
    expect(screen.getByTestId("destination-key-path")).toHaveValue("/home/me/.ssh/id_ed25519");
    expect(document.body.innerHTML).not.toContain(PASSPHRASE);

    // Saved again untouched: the stored passphrase is kept, not sent.
    await fireEvent.click(screen.getByTestId("destination-save"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "save_destination")).toHaveLength(2));
    expect(sent(calls, "save_destination")).toMatchObject({ id: 1, keyHasPassphrase: true, passphrase: null });
  });

  it("shows the engine's message beside the key file field", async () => {
    const message = "Private key file: /nope does not exist on this computer. Check the path.";
    mockIPC(
      ipc({
        list_destinations: () => [],
        test_destination: () => {
          throw { code: "InvalidInput", message, field: "keyPath" };
        },
      }).handler,
    );
    render(DestinationsSection);
    await fireEvent.click(screen.getByTestId("destination-kind-sftp"));
    await fireEvent.click(screen.getByTestId("destination-login-keyFile"));
    await type("destination-key-path", "/nope");
    await fireEvent.click(screen.getByTestId("destination-test"));

    expect(await screen.findByTestId("destination-error-keyPath")).toHaveTextContent(message);
    expect(screen.getByTestId("destination-key-path")).toHaveAttribute("aria-invalid", "true");
    expect(screen.queryByTestId("destination-error")).toBeNull();
  });

  it("defaults an FTPS port to 990 with implicit TLS and back to 21 without, keeping a typed one", async () => {
    const { handler, calls } = ipc({ list_destinations: () => [], test_destination: () => changed });
    mockIPC(handler);
    render(DestinationsSection);
    await fireEvent.click(screen.getByTestId("destination-kind-ftps"));
    const port = screen.getByTestId("destination-port");
    expect(port).toHaveValue("21");
    await fireEvent.click(screen.getByTestId("destination-implicit-tls"));
    expect(port).toHaveValue("990");
    await fireEvent.click(screen.getByTestId("destination-test"));
    expect(sent(calls, "test_destination")).toMatchObject({ kind: "ftps", port: 990, implicitTls: true });

    await fireEvent.click(screen.getByTestId("destination-implicit-tls"));
    expect(port).toHaveValue("21");
    await type("destination-port", "2121");
    await fireEvent.click(screen.getByTestId("destination-implicit-tls"));
    expect(port).toHaveValue("2121");

    // Implicit TLS is an FTPS option only.
    await fireEvent.click(screen.getByTestId("destination-kind-ftp"));
    expect(screen.queryByTestId("destination-implicit-tls")).toBeNull();
    await fireEvent.click(screen.getByTestId("destination-test"));
    expect(sent(calls, "test_destination").implicitTls).toBe(false);
  });
});
