import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import TokenField from "./TokenField.svelte";

function props(overrides: Record<string, unknown> = {}) {
  return {
    showInput: false,
    replacing: false,
    hasSite: true,
    error: null,
    disabled: false,
    onreplace: vi.fn(),
    onremove: vi.fn(),
    oncancel: vi.fn(),
    ...overrides,
  };
}

describe("TokenField", () => {
  it("asks inline before removing a stored token", async () => {
    const p = props();
    render(TokenField, p);
    expect(screen.getByTestId("token-stored")).toHaveTextContent("API token stored in the system keychain");
    expect(screen.queryByTestId("site-token")).toBeNull();

    await fireEvent.click(screen.getByTestId("token-remove"));
    expect(p.onremove).not.toHaveBeenCalled();
    expect(screen.getByRole("group", { name: "Confirm token removal" })).toHaveTextContent(
      "Remove the stored token?",
    );
    await fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.queryByTestId("token-remove-confirm")).toBeNull();

    await fireEvent.click(screen.getByTestId("token-replace"));
    expect(p.onreplace).toHaveBeenCalledOnce();

    // Closing the confirmation after removal is the page's job (bound confirmingRemove).
    await fireEvent.click(screen.getByTestId("token-remove"));
    await fireEvent.click(screen.getByTestId("token-remove-confirm"));
    expect(p.onremove).toHaveBeenCalledOnce();
  });

  it("shows a password input with Cancel and the error when replacing", async () => {
    const p = props({ showInput: true, replacing: true, error: "Enter the API token" });
    render(TokenField, p);
    const input = screen.getByTestId("site-token");
    expect(input).toHaveAttribute("type", "password");
    expect(input).toHaveAttribute("placeholder", "Paste the API token");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("API token")).toBe(input);
    expect(screen.getByTestId("error-token")).toHaveTextContent("Enter the API token");

    await fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(p.oncancel).toHaveBeenCalledOnce();
  });

  it("disables the stored-token actions while busy", () => {
    render(TokenField, props({ disabled: true }));
    expect(screen.getByTestId("token-replace")).toBeDisabled();
    expect(screen.getByTestId("token-remove")).toBeDisabled();
  });
});
