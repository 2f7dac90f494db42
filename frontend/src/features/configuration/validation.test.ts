import { describe, expect, it } from "vitest";
import {
  EMAIL_MESSAGE,
  TOKEN_MESSAGE,
  URL_MESSAGE,
  hasErrors,
  validateEmail,
  validateSiteForm,
  validateToken,
  validateUrl,
} from "./validation";

describe("validateUrl", () => {
  it.each([
    "https://acme.atlassian.net",
    "https://acme.atlassian.net/",
    "https://acme.atlassian.net/jira/software",
    "  https://acme.atlassian.net  ",
    "HTTPS://Acme.Atlassian.net",
    "http://127.0.0.1:8080",
    "http://localhost",
    "http://localhost:3000/",
    "https://localhost:8443",
  ])("accepts %s", (url) => {
    expect(validateUrl(url)).toBeNull();
  });

  it.each([
    "",
    "   ",
    "acme.atlassian.net",
    "ftp://x",
    "https://",
    "https:///path",
    "https://?q",
    "https://\\\\host",
    "http://example.com",
    "http://acme.atlassian.net",
    "http://127.0.0.2",
    "http://localhost.example.com",
    "javascript:alert(1)",
    "https://user:pass@acme.atlassian.net",
    "https://exa mple.com",
  ])("rejects %j", (url) => {
    expect(validateUrl(url)).toBe(URL_MESSAGE);
  });
});

describe("validateEmail", () => {
  it.each(["me@example.com", "first.last+tag@sub.example.co.uk", " me@example.com "])(
    "accepts %s",
    (email) => {
      expect(validateEmail(email)).toBeNull();
    },
  );

  it.each(["", "me", "me@", "@example.com", "me@example", "me@@example.com", "me @example.com", "me@example."])(
    "rejects %j",
    (email) => {
      expect(validateEmail(email)).toBe(EMAIL_MESSAGE);
    },
  );
});

describe("validateToken", () => {
  it("requires a token when one must be typed", () => {
    expect(validateToken("", true)).toBe(TOKEN_MESSAGE);
    expect(validateToken("   ", true)).toBe(TOKEN_MESSAGE);
    expect(validateToken(null, true)).toBe(TOKEN_MESSAGE);
    expect(validateToken("ATATT3x", true)).toBeNull();
  });

  it("does not require a token when one is already stored", () => {
    expect(validateToken(null, false)).toBeNull();
    expect(validateToken("", false)).toBeNull();
  });
});

describe("validateSiteForm", () => {
  it("reports every field at once", () => {
    const errors = validateSiteForm({ url: "ftp://x", email: "nope", token: "", tokenRequired: true });
    expect(errors).toEqual({ url: URL_MESSAGE, email: EMAIL_MESSAGE, token: TOKEN_MESSAGE });
    expect(hasErrors(errors)).toBe(true);
  });

  it("passes a complete new site", () => {
    const errors = validateSiteForm({
      url: "https://acme.atlassian.net/",
      email: "admin@acme.com",
      token: "secret",
      tokenRequired: true,
    });
    expect(hasErrors(errors)).toBe(false);
  });
});
