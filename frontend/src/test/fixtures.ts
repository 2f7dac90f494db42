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

import type { BackupFileView, DestinationView, RunView, SchemeView } from "../lib/api";

export function backupFile(overrides: Partial<BackupFileView> = {}): BackupFileView {
  return {
    id: 1,
    name: "acme-basic-2025-03-12_0000.zip",
    createdAt: "2025-03-12T00:00:00Z",
    size: 1_234_567,
    schemeId: 1,
    schemeName: "Basic daily",
    destinationId: 1,
    destinationName: "Disk",
    destinationKind: "local",
    folder: "acme",
    verified: true,
    partial: false,
    partialSections: [],
    entityCounts: { issues: 120, projects: 3, users: 12 },
    sha256: "ab".repeat(32),
    ...overrides,
  };
}

export function run(overrides: Partial<RunView> = {}): RunView {
  return {
    id: 1,
    schemeId: 1,
    schemeName: "Basic daily",
    trigger: "manual",
    outcome: "succeeded",
    startedAt: "2025-03-12T00:00:00Z",
    finishedAt: "2025-03-12T00:01:00Z",
    durationMs: 60_000,
    phases: [],
    bytes: 1_234_567,
    errorCode: null,
    message: null,
    ...overrides,
  };
}

export function destination(overrides: Partial<DestinationView> = {}): DestinationView {
  return {
    id: 1,
    name: "Disk",
    kind: "local",
    host: null,
    port: null,
    userName: null,
    folder: "/backups",
    quotaBytes: null,
    pinnedFingerprint: null,
    location: "/backups",
    unencrypted: false,
    passwordStored: false,
    sftpLogin: "password",
    keyPath: null,
    keyHasPassphrase: false,
    passphraseStored: false,
    implicitTls: false,
    ...overrides,
  };
}

export function scheme(overrides: Partial<SchemeView> = {}): SchemeView {
  return {
    id: 1,
    name: "Basic daily",
    siteId: 1,
    kind: "basic",
    days: ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    time: "00:00",
    timeZone: "Europe/Berlin",
    keep: 10,
    destinationId: 1,
    folder: "acme",
    paused: false,
    siteUrl: "https://acme.atlassian.net",
    destinationName: "Disk",
    lastSuccessAt: null,
    nextRunAt: "2025-03-13T00:00:00Z",
    status: "neverRun",
    lastMessage: null,
    ...overrides,
  };
}
