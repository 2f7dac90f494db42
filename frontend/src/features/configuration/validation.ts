// Client-side checks run before any call to the backend. The backend
// normalises and validates again; these only catch obvious typing mistakes.

export const URL_MESSAGE = "Use an https:// address, e.g. https://your-team.atlassian.net";
export const EMAIL_MESSAGE = "Enter a valid email address";
export const TOKEN_MESSAGE = "Enter the API token";

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1"]);

/** Returns an error message, or null when the site URL is acceptable. */
export function validateUrl(input: string): string | null {
  const value = input.trim();
  if (value === "") return URL_MESSAGE;
  // A host must follow "://" directly ("https:///x" would otherwise parse with host "x").
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/(?![/\\?#])/i.exec(value);
  if (!scheme) return URL_MESSAGE;
  const protocol = scheme[1].toLowerCase();
  if (protocol !== "https" && protocol !== "http") return URL_MESSAGE;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return URL_MESSAGE;
  }
  const host = parsed.hostname.toLowerCase();
  if (host === "") return URL_MESSAGE;
  if (parsed.username !== "" || parsed.password !== "") return URL_MESSAGE;
  if (protocol === "http" && !LOCAL_HOSTS.has(host)) return URL_MESSAGE;
  return null;
}

// something@domain.tld-ish: no spaces, one @, a dot in the domain with
// characters on both sides.
const EMAIL_RE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

export function validateEmail(input: string): string | null {
  return EMAIL_RE.test(input.trim()) ? null : EMAIL_MESSAGE;
}

/** The token is required only when one must be typed (new site or replacing). */
export function validateToken(input: string | null, required: boolean): string | null {
  if (!required) return null;
  return input !== null && input.trim() !== "" ? null : TOKEN_MESSAGE;
}

export type FieldErrors = { url: string | null; email: string | null; token: string | null };

export function validateSiteForm(form: {
  url: string;
  email: string;
  token: string | null;
  tokenRequired: boolean;
}): FieldErrors {
  return {
    url: validateUrl(form.url),
    email: validateEmail(form.email),
    token: validateToken(form.token, form.tokenRequired),
  };
}

export function hasErrors(errors: FieldErrors): boolean {
  return errors.url !== null || errors.email !== null || errors.token !== null;
}
