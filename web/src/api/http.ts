import { client } from "../client/client.gen";
import { absolute, authorizedFetch } from "./session";

/** An error answered by the API: its status and the `{"error": {code, message, details}}` body. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, details: unknown = null, retryAfter: number | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

type ErrorBody = { error?: { code?: string; message?: string; details?: unknown }; detail?: unknown };

export function apiErrorFrom(status: number, body: unknown, headers?: Headers): ApiError {
  const retryAfterHeader = headers?.get("retry-after");
  const retryAfter = retryAfterHeader && /^\d+$/.test(retryAfterHeader) ? Number(retryAfterHeader) : null;
  const error = (body as ErrorBody | null)?.error;
  if (error && typeof error.message === "string") {
    return new ApiError(status, error.code ?? "error", error.message, error.details ?? null, retryAfter);
  }
  const fallback =
    status === 0
      ? "The server could not be reached. Check your connection."
      : status >= 500
        ? "The server had a problem. Please try again."
        : `The request failed (${status}).`;
  return new ApiError(status, status === 0 ? "network_error" : "http_error", fallback, body, retryAfter);
}

/** A human sentence for any error thrown by a call. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}

client.setConfig({ baseUrl: "", fetch: authorizedFetch, credentials: "same-origin" });

type Result<T> = { data?: T; error?: unknown; response?: Response };

/** Unwraps a generated client call: its data, or an ApiError with the API's message. */
export async function call<T>(promise: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await promise;
  } catch (cause) {
    if (cause instanceof ApiError) throw cause;
    throw apiErrorFrom(0, null);
  }
  const response = result.response;
  if (!response) throw apiErrorFrom(0, null);
  if (!response.ok) throw apiErrorFrom(response.status, result.error, response.headers);
  return result.data as T;
}

/** A JSON request to an API path the generated client does not (yet) describe. */
export async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await authorizedFetch(
      new Request(absolute(url), {
        method,
        credentials: "same-origin",
        headers: body === undefined ? {} : { "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
  } catch {
    throw apiErrorFrom(0, null);
  }
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!response.ok) throw apiErrorFrom(response.status, parsed, response.headers);
  return parsed as T;
}

export { client };
