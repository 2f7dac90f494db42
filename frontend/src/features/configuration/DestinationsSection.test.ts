import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import { mockIPC } from "@tauri-apps/api/mocks";
import DestinationsSection from "./DestinationsSection.svelte";
import { ipc } from "../../test/fixtures";

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
});
