// The only module that imports the generated bindings. Everything else in the
// frontend talks to the backend through the functions exported here: each one
// returns the command's data or throws an `AppError`.
import { commands } from "./bindings";
import type {
  AppInfo,
  ConnectionReport,
  ErrorKind,
  IpcError,
  SiteDraftInput,
  SiteView,
} from "./bindings";

/** The error codes the backend may answer with (`ErrorKind` in the engine). */
export type ErrorCode = ErrorKind;
/** The site form as sent to the backend; `token: null` keeps the stored token. */
export type SiteDraft = SiteDraftInput;
/** The shape tauri-specta gives every command's answer. */
type Result<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };

export type { AppInfo, ConnectionReport, IpcError, SiteView };

/** An error reported by the backend (or a failure to reach it). */
export class AppError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "AppError";
    this.code = code;
  }

  static from(error: unknown): AppError {
    if (error instanceof AppError) return error;
    if (isIpcError(error)) return new AppError(error.code, error.message);
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
