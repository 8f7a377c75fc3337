/**
 * Who else is typing in or viewing a conversation, from the live `conversation.presence` events. Nothing is
 * stored on the server: each hint expires after the seconds it names unless repeated, and `idle` ends it.
 */
import { useMemo, useSyncExternalStore } from "react";

export type PresenceEvent = {
  conversationId: string;
  user: { id: string; name: string };
  state: "typing" | "viewing" | "idle";
  expiresInSeconds?: number;
};

export type Presence = { userId: string; name: string; state: "typing" | "viewing"; until: number };

const byConversation = new Map<string, Map<string, Presence>>();
const listeners = new Set<() => void>();
let version = 0;
let pruneTimer: ReturnType<typeof setTimeout> | null = null;

function notify(): void {
  version += 1;
  listeners.forEach((listener) => listener());
}

function prune(): void {
  pruneTimer = null;
  const now = Date.now();
  let changed = false;
  let next = Infinity;
  for (const [conversationId, people] of byConversation) {
    for (const [userId, presence] of people) {
      if (presence.until <= now) {
        people.delete(userId);
        changed = true;
      } else {
        next = Math.min(next, presence.until);
      }
    }
    if (people.size === 0) byConversation.delete(conversationId);
  }
  if (next !== Infinity) pruneTimer = setTimeout(prune, Math.max(next - now, 50));
  if (changed) notify();
}

export function applyPresence(event: PresenceEvent, now = Date.now()): void {
  if (!event?.conversationId || !event.user?.id) return;
  const people = byConversation.get(event.conversationId) ?? new Map<string, Presence>();
  if (event.state === "idle") {
    people.delete(event.user.id);
  } else {
    const seconds = Math.min(Math.max(event.expiresInSeconds ?? 8, 1), 60);
    people.set(event.user.id, { userId: event.user.id, name: event.user.name, state: event.state, until: now + seconds * 1000 });
  }
  if (people.size > 0) byConversation.set(event.conversationId, people);
  else byConversation.delete(event.conversationId);
  if (pruneTimer) clearTimeout(pruneTimer);
  pruneTimer = setTimeout(prune, 0);
  notify();
}

export function clearPresence(): void {
  byConversation.clear();
  notify();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const snapshot = () => version;

/** The teammates (not `meId`) typing in or viewing the conversation now; typing first. */
export function usePresence(conversationId: string, meId: string | undefined): Presence[] {
  const current = useSyncExternalStore(subscribe, snapshot, snapshot);
  return useMemo(() => {
    void current;
    const now = Date.now();
    return [...(byConversation.get(conversationId)?.values() ?? [])]
      .filter((p) => p.userId !== meId && p.until > now)
      .sort((a, b) => (a.state === b.state ? a.name.localeCompare(b.name) : a.state === "typing" ? -1 : 1));
  }, [conversationId, meId, current]);
}

/** "Ana is typing…", "Ana and Ben are viewing", "Ana is typing… · Ben is viewing". */
export function presenceSentence(people: Presence[]): string | null {
  const typing = people.filter((p) => p.state === "typing").map((p) => p.name);
  const viewing = people.filter((p) => p.state === "viewing").map((p) => p.name);
  const names = (list: string[]) =>
    list.length <= 2 ? list.join(" and ") : `${list.slice(0, 2).join(", ")} and ${list.length - 2} more`;
  const parts = [];
  if (typing.length) parts.push(`${names(typing)} ${typing.length === 1 ? "is" : "are"} typing…`);
  if (viewing.length) parts.push(`${names(viewing)} ${viewing.length === 1 ? "is" : "are"} viewing`);
  return parts.length ? parts.join(" · ") : null;
}
