import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import { createRawSnippet } from "svelte";
import Modal from "./Modal.svelte";

const body = createRawSnippet(() => ({
  render: () =>
    `<div><input data-testid="first" /><button type="button" data-testid="last">OK</button></div>`,
}));

function open(onclose = vi.fn()) {
  const opener = document.createElement("button");
  document.body.append(opener);
  opener.focus();
  const view = render(Modal, { title: "T", id: "t", testid: "dialog", onclose, children: body });
  return { opener, onclose, view };
}

describe("Modal", () => {
  it("takes the focus, closes on Escape and gives the focus back", async () => {
    const { opener, onclose, view } = open();
    expect(screen.getByTestId("first")).toHaveFocus();
    await fireEvent.keyDown(screen.getByTestId("first"), { key: "Escape" });
    expect(onclose).toHaveBeenCalled();
    view.unmount();
    expect(opener).toHaveFocus();
    opener.remove();
  });

  it("keeps the focus inside at both ends, Shift+Tab as WebKitGTK reports it included", async () => {
    const { opener } = open();
    const close = screen.getByRole("button", { name: "Close" });
    const last = screen.getByTestId("last");
    last.focus();
    await fireEvent.keyDown(last, { key: "Tab", code: "Tab" });
    expect(close).toHaveFocus();
    // WebKitGTK: key "Unidentified" (GDK's ISO_Left_Tab), code "Tab".
    await fireEvent.keyDown(close, { key: "Unidentified", code: "Tab", shiftKey: true });
    expect(last).toHaveFocus();
    opener.remove();
  });
});
