/**
 * The signed-in session: the access token lives in this module's memory only (never in storage); the refresh
 * token is an HttpOnly cookie scoped to /api/auth that JavaScript never sees. The access token is refreshed
 * shortly before it expires and whenever the API answers 401, with one refresh in flight at a time (and, across
 * tabs, one at a time through the Web Locks API, since every refresh rotates the shared cookie).
 */

export type SessionUser = { id: string; email: string; name: string; role: "admin" | "agent"; tenantId: string };

type TokenAnswer = { accessToken: string; expiresIn: number; user: SessionUser };

type Listener = () => void;

let accessToken: string | null = null;
let expiresAt = 0;
let currentUser: SessionUser | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | null = null;
let inflight: Promise<boolean> | null = null;
const endedListeners = new Set<Listener>();
const changedListeners = new Set<Listener>();

const AUTH_PATHS = ["/api/auth/login", "/api/auth/register", "/api/auth/refresh", "/api/auth/logout"];

export function getAccessToken(): string | null {
  return accessToken;
}

export function getSessionUser(): SessionUser | null {
  return currentUser;
}

/** Called when the session can no longer be renewed (refresh refused): the app goes back to the login page. */
export function onSessionEnded(listener: Listener): () => void {
  endedListeners.add(listener);
  return () => endedListeners.delete(listener);
}

/** Called whenever the access token changes (for the live event stream to reconnect with the new one). */
export function onTokenChanged(listener: Listener): () => void {
  changedListeners.add(listener);
  return () => changedListeners.delete(listener);
}

/** When to renew: a minute before expiry for normal lifetimes, at 70% of it for very short ones. */
export function refreshDelayMs(expiresInSeconds: number): number {
  const seconds = Math.max(expiresInSeconds - 60, expiresInSeconds * 0.7, 1);
  return Math.round(seconds * 1000);
}

export function startSession(answer: TokenAnswer): void {
  accessToken = answer.accessToken;
  expiresAt = Date.now() + answer.expiresIn * 1000;
  currentUser = answer.user;
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    void refreshSession().catch(() => undefined);
  }, refreshDelayMs(answer.expiresIn));
  changedListeners.forEach((listener) => listener());
}

export function clearSession(): void {
  accessToken = null;
  expiresAt = 0;
  currentUser = null;
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
}

function endSession(): void {
  const hadSession = accessToken !== null;
  clearSession();
  if (hadSession) endedListeners.forEach((listener) => listener());
}

async function exchangeCookie(): Promise<boolean> {
  let response: Response;
  try {
    response = await fetch("/api/auth/refresh", { method: "POST", credentials: "same-origin" });
  } catch {
    // Offline or the server restarting: keep the session and try again on the next call or timer.
    if (refreshTimer) clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => void refreshSession().catch(() => undefined), 5000);
    throw new TypeError("network");
  }
  if (response.ok) {
    startSession((await response.json()) as TokenAnswer);
    return true;
  }
  endSession();
  return false;
}

/**
 * Exchange the refresh cookie for a new access token. Concurrent callers share one request; true when the
 * session is (still) valid, false when it has ended. Throws only when the server could not be reached.
 */
export function refreshSession(): Promise<boolean> {
  if (inflight) return inflight;
  const run = async () => {
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    if (!locks) return exchangeCookie();
    // Tabs share the cookie and each refresh rotates it: serialise the exchanges so no tab ever sends a
    // cookie another tab has just spent (reuse of a spent refresh token revokes the whole session family).
    return locks.request("wadesk-token-refresh", () => exchangeCookie());
  };
  inflight = run().finally(() => {
    inflight = null;
  });
  return inflight;
}

/** Same-origin absolute URL (Request objects outside a document need one). */
export function absolute(url: string): string {
  return new URL(url, globalThis.location?.origin ?? "http://localhost").toString();
}

function isAuthPath(url: string): boolean {
  const path = new URL(url, "http://localhost").pathname;
  return AUTH_PATHS.includes(path);
}

function withToken(request: Request, token: string | null): Request {
  const headers = new Headers(request.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return new Request(request, { headers });
}

/** `fetch` for API calls: adds the access token, renews it when about to expire, and retries once after a 401. */
export async function authorizedFetch(info: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const input = info instanceof Request && !init ? info : new Request(info, init);
  if (isAuthPath(input.url)) return fetch(input);
  if (accessToken && Date.now() > expiresAt - 5000) {
    await refreshSession().catch(() => undefined);
  }
  const spare = input.clone();
  const sent = accessToken;
  const response = await fetch(withToken(input, sent));
  if (response.status !== 401 || sent === null) return response;
  // The token may have been renewed while this request was in flight; otherwise renew it now.
  const renewed = accessToken !== sent ? true : await refreshSession().catch(() => false);
  if (!renewed || !accessToken) return response;
  return fetch(withToken(spare, accessToken));
}

/** A fetch with the current access token, for binary downloads (media) the generated client does not cover. */
export async function authorizedBlob(url: string, signal?: AbortSignal): Promise<Blob> {
  const response = await authorizedFetch(new Request(absolute(url), { credentials: "same-origin", signal }));
  if (!response.ok) throw new Error(`download failed (${response.status})`);
  return response.blob();
}
