import { useEffect, useState } from "react";
import { mediaUrl } from "../../api/resources";
import { authorizedBlob } from "../../api/session";

// Blob URLs of downloaded media, shared by every view of a message; the oldest are released past the cap.
const cache = new Map<string, string>();
const pending = new Map<string, Promise<string>>();
const CAP = 150;

function remember(id: string, url: string): void {
  cache.set(id, url);
  while (cache.size > CAP) {
    const oldest = cache.keys().next().value as string;
    URL.revokeObjectURL(cache.get(oldest) ?? "");
    cache.delete(oldest);
  }
}

/**
 * Shows a local file (a blob URL) as a message's media, without downloading it: the file an agent just sent.
 * A URL primed under an earlier id (the optimistic copy) moves to the new one.
 */
export function primeMedia(messageId: string, url: string): void {
  for (const [id, known] of cache) if (known === url && id !== messageId) cache.delete(id);
  remember(messageId, url);
}

/** Downloads a message's stored media with the access token (an <img src> cannot send it) → a blob URL. */
export function loadMedia(messageId: string): Promise<string> {
  const known = cache.get(messageId);
  if (known) return Promise.resolve(known);
  let running = pending.get(messageId);
  if (!running) {
    running = authorizedBlob(mediaUrl(messageId))
      .then((blob) => {
        const url = URL.createObjectURL(blob);
        remember(messageId, url);
        return url;
      })
      .finally(() => pending.delete(messageId));
    pending.set(messageId, running);
  }
  return running;
}

export type MediaState = { url: string | null; loading: boolean; failed: boolean };

export function useMessageMedia(messageId: string, enabled: boolean): MediaState {
  const [state, setState] = useState<MediaState>(() => ({
    url: cache.get(messageId) ?? null,
    loading: enabled && !cache.has(messageId),
    failed: false,
  }));
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    const known = cache.get(messageId);
    if (known) {
      setState({ url: known, loading: false, failed: false });
      return;
    }
    setState({ url: null, loading: true, failed: false });
    loadMedia(messageId).then(
      (url) => live && setState({ url, loading: false, failed: false }),
      () => live && setState({ url: null, loading: false, failed: true }),
    );
    return () => {
      live = false;
    };
  }, [messageId, enabled]);
  return state;
}
