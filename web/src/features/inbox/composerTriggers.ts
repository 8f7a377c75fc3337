/** What the composer offers while typing: `/code` for canned responses, `@name` for teammates in notes. */

export type TriggerKind = "canned" | "mention";
/** The word being completed: its kind, what follows `/` or `@`, and where it sits in the text. */
export type Trigger = { kind: TriggerKind; query: string; start: number; end: number };

const CANNED = /(^|\s)\/([a-z0-9_-]{0,32})$/i;
const MENTION = /(^|\s)@([\p{L}\p{N}._-]{0,64})$/u;

/** The trigger the caret is at the end of, among the kinds allowed; null when none. */
export function findTrigger(text: string, caret: number, allowed: { canned?: boolean; mention?: boolean }): Trigger | null {
  const before = text.slice(0, caret);
  const pattern = allowed.canned ? CANNED : allowed.mention ? MENTION : null;
  const match = pattern?.exec(before);
  if (!match) return null;
  const query = match[2] ?? "";
  return { kind: allowed.canned ? "canned" : "mention", query, start: caret - query.length - 1, end: caret };
}

/** `text` with [start, end) replaced, and where the caret goes after the insertion. */
export function replaceRange(text: string, start: number, end: number, insert: string): { text: string; caret: number } {
  return { text: text.slice(0, start) + insert + text.slice(end), caret: start + insert.length };
}

export type Teammate = { id: string; name: string; email: string };

/** How a teammate is mentioned: the part of their email before the @ (what the API matches). */
export function mentionHandle(teammate: Pick<Teammate, "email">): string {
  return teammate.email.split("@")[0] ?? teammate.email;
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The teammates still mentioned (`@handle` as a whole word) in a note. */
export function mentionedIds(text: string, teammates: Teammate[]): string[] {
  return teammates
    .filter((t) => new RegExp(`(^|[^\\w@.])@${escapeRegExp(mentionHandle(t))}(?![\\w-])`, "i").test(text))
    .map((t) => t.id);
}

export type CannedLike = { id: string; shortCode: string; title: string; body: string };

/** Canned responses for `/query`: codes starting with it first, then titles containing it; at most `limit`. */
export function matchCanned<T extends CannedLike>(all: T[], query: string, limit = 8): T[] {
  const q = query.toLowerCase();
  const starts = all.filter((c) => c.shortCode.startsWith(q));
  const rest = q ? all.filter((c) => !c.shortCode.startsWith(q) && c.title.toLowerCase().includes(q)) : [];
  return [...starts, ...rest].slice(0, limit);
}

/** Teammates for `@query`, by name or handle. */
export function matchTeammates(all: Teammate[], query: string, meId?: string, limit = 8): Teammate[] {
  const q = query.toLowerCase();
  return all
    .filter((t) => t.id !== meId)
    .filter((t) => !q || t.name.toLowerCase().includes(q) || mentionHandle(t).toLowerCase().startsWith(q))
    .slice(0, limit);
}

/** Splits a note into plain text and `@handle` mentions of known teammates. */
export function splitMentions(text: string, teammates: Teammate[]): { text: string; mention?: Teammate }[] {
  const byHandle = new Map(teammates.map((t) => [mentionHandle(t).toLowerCase(), t]));
  const parts: { text: string; mention?: Teammate }[] = [];
  let last = 0;
  for (const match of text.matchAll(/(^|[^\w@.])@([A-Za-z0-9._-]{2,64})/g)) {
    const handle = match[2] ?? "";
    const teammate = byHandle.get(handle.toLowerCase()) ?? byHandle.get(handle.replace(/[._-]+$/, "").toLowerCase());
    if (!teammate) continue;
    const at = (match.index ?? 0) + (match[1]?.length ?? 0);
    const length = 1 + mentionHandle(teammate).length;
    if (at > last) parts.push({ text: text.slice(last, at) });
    parts.push({ text: text.slice(at, at + length), mention: teammate });
    last = at + length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}
