/**
 * File uploads to `POST /api/media` with progress. fetch cannot report upload progress, so this uses
 * XMLHttpRequest with the session's access token, renewing it once on a 401 like every other call.
 */
import * as sdk from "../client/sdk.gen";
import type { MediaUploadOut } from "../client/types.gen";
import { ApiError, apiErrorFrom, call } from "./http";
import { getAccessToken, refreshSession } from "./session";

export type { MediaUploadOut };
export type MediaKind = MediaUploadOut["kind"];

export type UploadOptions = { onProgress?: (fraction: number) => void; signal?: AbortSignal };

function send(file: File, token: string | null, options: UploadOptions): Promise<{ status: number; body: unknown; headers: Headers }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/media");
    xhr.withCredentials = true;
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.responseType = "text";
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) options.onProgress?.(event.loaded / event.total);
    };
    xhr.onload = () => {
      let body: unknown;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = xhr.responseText;
      }
      const headers = new Headers();
      const retryAfter = xhr.getResponseHeader("retry-after");
      if (retryAfter) headers.set("retry-after", retryAfter);
      resolve({ status: xhr.status, body, headers });
    };
    xhr.onerror = () => reject(apiErrorFrom(0, null));
    xhr.onabort = () => reject(new ApiError(0, "aborted", "The upload was cancelled."));
    if (options.signal) {
      if (options.signal.aborted) {
        reject(new ApiError(0, "aborted", "The upload was cancelled."));
        return;
      }
      options.signal.addEventListener("abort", () => xhr.abort(), { once: true });
    }
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

/** Uploads a file for sending; resolves with what the API kept (its id is sent as `uploadId`). */
export async function uploadMedia(file: File, options: UploadOptions = {}): Promise<MediaUploadOut> {
  let sent = getAccessToken();
  let answer = await send(file, sent, options);
  if (answer.status === 401 && sent !== null) {
    const renewed = getAccessToken() !== sent ? true : await refreshSession().catch(() => false);
    sent = getAccessToken();
    if (renewed && sent) answer = await send(file, sent, options);
  }
  if (answer.status < 200 || answer.status >= 300) throw apiErrorFrom(answer.status, answer.body, answer.headers);
  return answer.body as MediaUploadOut;
}

/** Discards an upload no message uses (an attachment removed before sending). */
export const discardUpload = (id: string): Promise<unknown> =>
  call(sdk.deleteMediaApiMediaMediaIdDelete({ path: { media_id: id } }));

const MB = 1024 * 1024;
/** WhatsApp's limits, to refuse a file before uploading it (the API checks again, and its answer wins). */
const LIMITS: { test: RegExp; kind: MediaKind; bytes: number; label: string }[] = [
  { test: /^image\/(jpeg|jpg|png)$|\.(jpe?g|png)$/i, kind: "image", bytes: 5 * MB, label: "Images" },
  { test: /^image\/webp$|\.webp$/i, kind: "sticker", bytes: 500 * 1024, label: "Stickers" },
  { test: /^video\/(mp4|3gpp)$|\.(mp4|3gpp?)$/i, kind: "video", bytes: 16 * MB, label: "Videos" },
  { test: /^audio\/|\.(aac|amr|mp3|m4a|ogg|opus)$/i, kind: "audio", bytes: 16 * MB, label: "Audio files" },
];

/** What kind of message a file would be, and why it cannot be sent when its size already says so. */
export function precheck(file: File): { kind: MediaKind; problem: string | null } {
  const name = file.name.toLowerCase();
  const rule = LIMITS.find((r) => r.test.test(file.type) || r.test.test(name));
  const kind: MediaKind = rule?.kind ?? "document";
  const limit = rule?.bytes ?? 100 * MB;
  const label = rule?.label ?? "Documents";
  if (file.size === 0) return { kind, problem: "The file is empty." };
  if (file.size > limit) return { kind, problem: `${label} can be at most ${limit / MB >= 1 ? `${limit / MB} MB` : `${limit / 1024} KB`} on WhatsApp.` };
  return { kind, problem: null };
}

/** The file types the picker offers (WhatsApp's supported media). */
export const ACCEPTED_FILES = [
  "image/jpeg",
  "image/png",
  "image/webp",
  "video/mp4",
  "video/3gpp",
  "audio/aac",
  "audio/amr",
  "audio/mpeg",
  "audio/mp4",
  "audio/ogg",
  "text/plain",
  "application/pdf",
  ".doc",
  ".docx",
  ".xls",
  ".xlsx",
  ".ppt",
  ".pptx",
  ".m4a",
  ".opus",
  ".3gp",
].join(",");
