/**
 * The live event stream (`GET /api/events`, Server-Sent Events). EventSource cannot send the Authorization
 * header, so this uses a fetch-based client; each connection carries the current access token and the id of
 * the last event seen (`Last-Event-ID`), so a reconnect receives what was missed. Events update the query
 * cache in place.
 */
import { fetchEventSource, type EventSourceMessage } from "@microsoft/fetch-event-source";
import type { QueryClient } from "@tanstack/react-query";
import { applyCampaignStats, applyConversation, applyMessage, keys } from "./cache";
import type { CampaignStats, ConversationOut, MessageOut } from "./resources";
import { applyNote, removeNote, type NoteOut } from "./collaboration";
import { applyPresence, type PresenceEvent } from "./presence";
import { getAccessToken, onTokenChanged, refreshSession } from "./session";

export type ConnectionState = "connecting" | "live" | "offline";

export type RealtimeHandlers = {
  onState?: (state: ConnectionState) => void;
  onMessage?: (message: MessageOut) => void;
};

class Unauthorized extends Error {}
class Rejected extends Error {}

export function startRealtime(queryClient: QueryClient, handlers: RealtimeHandlers = {}): () => void {
  let lastEventId: string | null = null;
  let controller: AbortController | null = null;
  let stopped = false;
  let attempt = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let statsTimer: ReturnType<typeof setTimeout> | null = null;

  const refreshStats = () => {
    if (statsTimer) return;
    statsTimer = setTimeout(() => {
      statsTimer = null;
      void queryClient.invalidateQueries({ queryKey: keys.stats });
    }, 250);
  };

  const handle = (event: EventSourceMessage) => {
    if (event.id) lastEventId = event.id;
    if (!event.event || event.event === "ready" || !event.data) return;
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    switch (event.event) {
      case "message.created":
      case "message.updated": {
        const message = data as MessageOut;
        applyMessage(queryClient, message);
        if (event.event === "message.created") handlers.onMessage?.(message);
        break;
      }
      case "conversation.created":
      case "conversation.updated":
        applyConversation(queryClient, data as ConversationOut);
        refreshStats();
        break;
      case "template.updated":
        void queryClient.invalidateQueries({ queryKey: keys.templates });
        break;
      case "phone_number.updated":
        void queryClient.invalidateQueries({ queryKey: keys.phoneNumbers });
        break;
      case "contact.created":
      case "contact.updated":
        void queryClient.invalidateQueries({ queryKey: keys.contacts });
        break;
      case "note.created":
      case "note.updated":
        applyNote(queryClient, data as NoteOut);
        break;
      case "note.deleted": {
        const gone = data as { id: string; conversationId: string };
        removeNote(queryClient, gone.conversationId, gone.id);
        break;
      }
      case "conversation.presence":
        applyPresence(data as PresenceEvent);
        break;
      case "label.created":
        void queryClient.invalidateQueries({ queryKey: keys.labels });
        break;
      case "label.updated":
      case "label.deleted": {
        void queryClient.invalidateQueries({ queryKey: keys.labels });
        // A rename or a delete changes every conversation carrying the label.
        const change = data as { label: string; previous?: string };
        if (event.event === "label.deleted" || (change.previous && change.previous !== change.label)) {
          void queryClient.invalidateQueries({ queryKey: keys.conversations });
          void queryClient.invalidateQueries({ queryKey: ["conversation"] });
        }
        break;
      }
      case "campaign.updated": // admins only; the campaign's stats, at most one per campaign per second
        applyCampaignStats(queryClient, data as CampaignStats);
        break;
      default:
        break;
    }
  };

  const schedule = () => {
    if (stopped) return;
    handlers.onState?.("offline");
    const delay = Math.min(30000, 1000 * 2 ** Math.min(attempt, 5)) * (0.75 + Math.random() * 0.5);
    attempt += 1;
    retryTimer = setTimeout(connect, delay);
  };

  const connect = () => {
    if (stopped) return;
    retryTimer = null;
    const token = getAccessToken();
    if (!token) {
      schedule();
      return;
    }
    controller?.abort();
    const current = new AbortController();
    controller = current;
    handlers.onState?.("connecting");
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    const resumed = lastEventId !== null;
    fetchEventSource("/api/events", {
      headers,
      signal: current.signal,
      openWhenHidden: true,
      async onopen(response) {
        if (response.status === 401) throw new Unauthorized();
        if (!response.ok || !response.headers.get("content-type")?.includes("text/event-stream")) {
          throw new Rejected(String(response.status));
        }
        attempt = 0;
        handlers.onState?.("live");
        // Events older than the server's replay buffer cannot be resent: refetch what is on screen.
        if (!resumed) return;
        void queryClient.invalidateQueries({ queryKey: keys.stats });
        void queryClient.invalidateQueries({ queryKey: keys.campaigns });
      },
      onmessage: handle,
      onclose() {
        throw new Rejected("closed");
      },
      onerror(error) {
        throw error; // reconnecting is ours to decide (fresh token, backoff)
      },
    }).then(
      () => undefined,
      async (error: unknown) => {
        if (stopped || current.signal.aborted) return;
        if (error instanceof Unauthorized) {
          const ok = await refreshSession().catch(() => false);
          if (!ok) return; // the session ended; the app returns to the login page
        }
        schedule();
      },
    );
  };

  // A renewed token does not matter to an open stream; it is used on the next connection.
  const unsubscribe = onTokenChanged(() => {
    if (retryTimer && attempt > 0) {
      clearTimeout(retryTimer);
      connect();
    }
  });
  const onOnline = () => {
    if (retryTimer) {
      clearTimeout(retryTimer);
      attempt = 0;
      connect();
    }
  };
  window.addEventListener("online", onOnline);
  connect();
  return () => {
    stopped = true;
    unsubscribe();
    window.removeEventListener("online", onOnline);
    if (retryTimer) clearTimeout(retryTimer);
    if (statsTimer) clearTimeout(statsTimer);
    controller?.abort();
  };
}
