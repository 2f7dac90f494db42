// The only module that imports the generated bindings. Everything else in the
// frontend talks to the backend through the functions exported here: each one
// returns the command's data or throws an `AppError`.
import { commands, events } from "./bindings";
import type {
  AppInfo,
  BackupFileView,
  ConnectionReport,
  Day,
  DestinationDraftInput,
  DestinationKind,
  DestinationTestReport,
  DestinationUsage,
  DestinationView,
  ErrorKind,
  FieldError,
  IpcError,
  NotificationLevel,
  Preferences,
  Preset,
  PresetView,
  RunOutcome,
  RunProgress,
  RunView,
  SaveSchemeOutcome,
  SchemeField,
  SchemeInput,
  SchemeStatus,
  SchemeView,
  SftpLogin,
  SiteDraftInput,
  SiteView,
  TrustPrompt,
} from "./bindings";

/** The error codes the backend may answer with (`ErrorKind` in the engine). */
export type ErrorCode = ErrorKind;
/** The site form as sent to the backend; `token: null` keeps the stored token. */
export type SiteDraft = SiteDraftInput;
/** The shape tauri-specta gives every command's answer. */
type Result<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };

export type {
  AppInfo,
  BackupFileView,
  ConnectionReport,
  Day,
  DestinationKind,
  NotificationLevel,
  RunOutcome,
  SchemeField,
  SchemeStatus,
  TrustPrompt,
  DestinationTestReport,
  DestinationUsage,
  DestinationView,
  FieldError,
  IpcError,
  Preferences,
  Preset,
  PresetView,
  RunProgress,
  RunView,
  SaveSchemeOutcome,
  SchemeInput,
  SchemeView,
  SftpLogin,
  SiteView,
};
/** The destination form as sent to the backend; `password: null` (and `passphrase: null`)
 * keeps the stored one. */
export type DestinationDraft = DestinationDraftInput;

/** An error reported by the backend (or a failure to reach it). */
export class AppError extends Error {
  readonly code: ErrorCode;
  /** The form field an invalid input is about (its name in the draft), to show it beside. */
  readonly field: string | null;

  constructor(code: ErrorCode, message: string, field: string | null = null) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.field = field;
  }

  static from(error: unknown): AppError {
    if (error instanceof AppError) return error;
    if (isIpcError(error)) {
      return new AppError(error.code, error.message, typeof error.field === "string" ? error.field : null);
    }
    if (error instanceof Error) return new AppError("Internal", error.message);
    if (typeof error === "string") return new AppError("Internal", error);
    return new AppError("Internal", "Unexpected error while talking to the backend.");
  }
}

function isIpcError(value: unknown): value is IpcError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { message?: unknown }).message === "string"
  );
}

/** Unwraps a tauri-specta result: returns the data or throws an AppError. */
export async function unwrap<T>(call: Promise<Result<T, IpcError>>): Promise<T> {
  let result: Result<T, IpcError>;
  try {
    result = await call;
  } catch (e) {
    throw AppError.from(e);
  }
  if (result.status === "ok") return result.data;
  throw AppError.from(result.error);
}

export function listSites(): Promise<SiteView[]> {
  return unwrap(commands.listSites());
}

export function saveSite(draft: SiteDraft): Promise<SiteView> {
  return unwrap(commands.saveSite(draft));
}

export function testConnection(draft: SiteDraft): Promise<ConnectionReport> {
  return unwrap(commands.testConnection(draft));
}

export function removeSiteToken(siteId: number): Promise<SiteView> {
  return unwrap(commands.removeSiteToken(siteId));
}

export function deleteSite(siteId: number): Promise<null> {
  return unwrap(commands.deleteSite(siteId));
}

export function appInfo(): Promise<AppInfo> {
  return unwrap(commands.appInfo());
}

// --- Destinations ---

export function listDestinations(): Promise<DestinationView[]> {
  return unwrap(commands.listDestinations());
}

/** Adds (`id: null`) or updates a destination; the password goes to the keychain only. */
export function saveDestination(draft: DestinationDraft): Promise<DestinationView> {
  return unwrap(commands.saveDestination(draft));
}

export function deleteDestination(destinationId: number): Promise<null> {
  return unwrap(commands.deleteDestination(destinationId));
}

/** Each step's result; `trust` holds the fingerprint to show for an unknown server. */
export function testDestination(draft: DestinationDraft): Promise<DestinationTestReport> {
  return unwrap(commands.testDestination(draft));
}

export function trustDestinationFingerprint(
  destinationId: number,
  fingerprint: string,
): Promise<DestinationView> {
  return unwrap(commands.trustDestinationFingerprint(destinationId, fingerprint));
}

export function destinationUsage(): Promise<DestinationUsage[]> {
  return unwrap(commands.destinationUsage());
}

// --- Schemes ---

export function listSchemes(): Promise<SchemeView[]> {
  return unwrap(commands.listSchemes());
}

export function schemePresets(): Promise<PresetView[]> {
  return unwrap(commands.schemePresets());
}

export function presetSchemes(
  preset: Preset,
  siteId: number,
  destinationId: number,
  folder: string,
): Promise<SchemeInput[]> {
  return unwrap(commands.presetSchemes(preset, siteId, destinationId, folder));
}

export function timeZones(): Promise<string[]> {
  return unwrap(commands.timeZones());
}

/** Saved, or `{type: "invalid", errors}` with one message per field to show inline. */
export function saveScheme(input: SchemeInput): Promise<SaveSchemeOutcome> {
  return unwrap(commands.saveScheme(input));
}

export function setSchemePaused(schemeId: number, paused: boolean): Promise<SchemeView> {
  return unwrap(commands.setSchemePaused(schemeId, paused));
}

/** Deletes a scheme; with `deleteFiles` its backup files too (they cannot be recovered). */
export function deleteScheme(schemeId: number, deleteFiles: boolean): Promise<null> {
  return unwrap(commands.deleteScheme(schemeId, deleteFiles));
}

// --- Runs ---

/** Starts one scheme; progress arrives through `onRunProgress`. */
export function runSchemeNow(schemeId: number): Promise<null> {
  return unwrap(commands.runSchemeNow(schemeId));
}

/** Starts every scheme that is not paused; resolves to how many started. */
export function runAllNow(): Promise<number> {
  return unwrap(commands.runAllNow());
}

export function latestAttempt(): Promise<RunView | null> {
  return unwrap(commands.latestAttempt());
}

export function runHistory(
  schemeId: number | null,
  limit: number,
  beforeRunId: number | null = null,
): Promise<RunView[]> {
  return unwrap(commands.runHistory(schemeId, limit, beforeRunId));
}

/** Calls `handler` for every run progress event; resolves to the function that stops it. */
export function onRunProgress(handler: (progress: RunProgress) => void): Promise<() => void> {
  return events.runProgress.listen((event) => handler(event.payload));
}

// --- Backup files ---

export function listBackupFiles(): Promise<BackupFileView[]> {
  return unwrap(commands.listBackupFiles());
}

/** Deletes the file from its destination and the catalog. It cannot be recovered. */
export function deleteBackupFile(backupId: number): Promise<null> {
  return unwrap(commands.deleteBackupFile(backupId));
}

export function showInFolder(backupId: number): Promise<null> {
  return unwrap(commands.showInFolder(backupId));
}

/** The folder "Download…" suggests (the user's Downloads folder). */
export function downloadFolder(): Promise<string> {
  return unwrap(commands.downloadFolder());
}

/** Saves a copy checked against the backup's SHA-256 in `folder`; resolves to its path. */
export function downloadBackupFile(backupId: number, folder: string): Promise<string> {
  return unwrap(commands.downloadBackupFile(backupId, folder));
}

// --- Preferences ---

export function getPreferences(): Promise<Preferences> {
  return unwrap(commands.getPreferences());
}

export function setPreferences(preferences: Preferences): Promise<Preferences> {
  return unwrap(commands.setPreferences(preferences));
}
