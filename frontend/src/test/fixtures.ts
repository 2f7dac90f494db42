import type { ConnectionReport, SiteView } from "../lib/api";

export function site(overrides: Partial<SiteView> = {}): SiteView {
  return {
    id: 1,
    url: "https://acme.atlassian.net",
    email: "admin@acme.com",
    displayName: "Ada Admin",
    accountId: "5b10ac8d82e05b22cc7d4ef5",
    isAdmin: true,
    lastChecked: "2025-03-12T14:05:00Z",
    tokenStored: true,
    ...overrides,
  };
}

export function report(overrides: Partial<ConnectionReport> = {}): ConnectionReport {
  return {
    siteUrl: "https://acme.atlassian.net",
    serverTitle: "Acme Jira",
    version: "1001.0.0-SNAPSHOT",
    displayName: "Ada Admin",
    accountId: "5b10ac8d82e05b22cc7d4ef5",
    emailAddress: "admin@acme.com",
    isAdmin: true,
    timeZone: "Europe/Berlin",
    checkedAt: "2025-03-12T14:05:00Z",
    ...overrides,
  };
}

export type Call = { cmd: string; args: unknown };

/** A recorder + dispatcher for mockIPC. Handlers may throw `{code, message}`. */
export function ipc(handlers: Record<string, (args: any) => unknown>) {
  const calls: Call[] = [];
  const handler = (cmd: string, args?: unknown) => {
    calls.push({ cmd, args });
    const h = handlers[cmd];
    if (!h) throw { code: "Internal", message: `unmocked command ${cmd}` };
    return h(args);
  };
  return { calls, handler };
}
