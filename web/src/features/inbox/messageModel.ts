/** Reading Meta's message objects (the `content` of a message, as stored for its type). */
import type { MessageOut } from "../../api/resources";

export type Obj = Record<string, unknown>;

export function obj(value: unknown): Obj {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Obj) : {};
}

export function str(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : typeof value === "number" ? String(value) : null;
}

export function num(value: unknown): number | null {
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : null;
}

export type StoredMedia = { stored: boolean; mimeType?: string; size?: number; error?: string };

export function storedMedia(message: MessageOut): StoredMedia | null {
  const media = message.content.media;
  if (!media || typeof media !== "object") return null;
  const m = media as Obj;
  return {
    stored: m.stored === true,
    mimeType: str(m.mimeType) ?? undefined,
    size: num(m.size) ?? undefined,
    error: str(m.error) ?? undefined,
  };
}

export const MEDIA_TYPES = new Set(["image", "video", "audio", "document", "sticker"]);

/** One line describing a message (reply quotes, the reply-to chip, notifications). */
export function messageSummary(message: Pick<MessageOut, "type" | "content">): string {
  const c = message.content;
  switch (message.type) {
    case "text":
      return str(c.body) ?? "";
    case "image":
      return `📷 ${str(c.caption) ?? "Photo"}`;
    case "video":
      return `🎥 ${str(c.caption) ?? "Video"}`;
    case "audio":
      return c.voice === true ? "🎤 Voice message" : "🎵 Audio";
    case "document":
      return `📄 ${str(c.filename) ?? str(c.caption) ?? "Document"}`;
    case "sticker":
      return "Sticker";
    case "location":
      return `📍 ${str(c.name) ?? str(c.address) ?? "Location"}`;
    case "contacts":
      return "👤 Contact card";
    case "template":
      return str(c.rendered) ?? `Template ${str(c.name) ?? ""}`;
    case "interactive": {
      const reply = obj(c.button_reply ?? c.list_reply);
      return str(reply.title) ?? str(obj(c.body).text) ?? "Interactive message";
    }
    case "button":
      return str(c.text) ?? "Button reply";
    case "reaction":
      return str(c.emoji) ? `Reacted ${str(c.emoji)}` : "Removed a reaction";
    case "system":
      return str(c.body) ?? "System message";
    case "order":
      return "🛒 Order";
    default:
      return "Unsupported message";
  }
}

export type Reaction = { emoji: string; from: string };

/**
 * The reactions to show on each message, by message id: the customer's (kept on the target by the server)
 * plus our own, which are outbound `reaction` messages pointing at the target's wamid (latest one wins;
 * an empty emoji removes it).
 */
export function reactionsByMessage(messages: MessageOut[]): Map<string, Reaction[]> {
  const byWamid = new Map<string, string>();
  for (const m of messages) if (m.wamid) byWamid.set(m.wamid, m.id);
  const ours = new Map<string, Map<string, string>>();
  const ordered = [...messages].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  for (const m of ordered) {
    if (m.type !== "reaction" || m.direction !== "outbound" || m.status === "failed") continue;
    const target = byWamid.get(str(m.content.message_id) ?? "");
    if (!target) continue;
    const who = m.senderUserId ?? "agent";
    const perTarget = ours.get(target) ?? new Map<string, string>();
    perTarget.set(who, str(m.content.emoji) ?? "");
    ours.set(target, perTarget);
  }
  const result = new Map<string, Reaction[]>();
  for (const m of messages) {
    const list: Reaction[] = [];
    for (const r of m.reactions ?? []) {
      const emoji = str(obj(r).emoji);
      if (emoji) list.push({ emoji, from: str(obj(r).from) ?? "customer" });
    }
    for (const [from, emoji] of ours.get(m.id) ?? []) if (emoji) list.push({ emoji, from });
    if (list.length > 0) result.set(m.id, list);
  }
  return result;
}

/** A reaction message is shown on its target; only one whose target is not loaded stands on its own. */
export function isFoldedReaction(message: MessageOut, wamids: Set<string>): boolean {
  return message.type === "reaction" && wamids.has(str(message.content.message_id) ?? "");
}

const URL_PATTERN = /(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]])/g;

/** Splits text into plain parts and links. */
export function linkify(text: string): { text: string; href?: string }[] {
  const parts: { text: string; href?: string }[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const index = match.index ?? 0;
    if (index > last) parts.push({ text: text.slice(last, index) });
    parts.push({ text: match[0], href: match[0] });
    last = index + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}
