import dayjs from "dayjs";
import relativeTime from "dayjs/plugin/relativeTime";

dayjs.extend(relativeTime);

/** "now", "5m", "3h", "Tue", "12 Mar" — the compact time of the conversation list. */
export function shortTime(iso: string, now: Date = new Date()): string {
  const at = dayjs(iso);
  const seconds = dayjs(now).diff(at, "second");
  if (seconds < 60) return "now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (at.isSame(now, "day")) return at.format("HH:mm");
  if (seconds < 6 * 86400) return at.format("ddd");
  if (at.isSame(now, "year")) return at.format("D MMM");
  return at.format("D MMM YYYY");
}

export function clockTime(iso: string): string {
  return dayjs(iso).format("HH:mm");
}

export function fullTime(iso: string): string {
  return dayjs(iso).format("ddd D MMM YYYY, HH:mm:ss");
}

export function relative(iso: string): string {
  return dayjs(iso).fromNow();
}

/** The label of a day separator in the thread: Today, Yesterday, a weekday or a date. */
export function dayLabel(iso: string, now: Date = new Date()): string {
  const at = dayjs(iso);
  if (at.isSame(now, "day")) return "Today";
  if (at.isSame(dayjs(now).subtract(1, "day"), "day")) return "Yesterday";
  if (dayjs(now).diff(at, "day") < 6) return at.format("dddd");
  return at.format(at.isSame(now, "year") ? "dddd, D MMMM" : "D MMMM YYYY");
}

export function sameDay(a: string, b: string): boolean {
  return dayjs(a).isSame(dayjs(b), "day");
}

export function fileSize(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return "";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** A WhatsApp id (digits only) shown as an international number. */
export function phone(waId: string | null | undefined): string {
  if (!waId) return "";
  return waId.startsWith("+") ? waId : `+${waId}`;
}

export function initials(name: string): string {
  const parts = name.replace(/[^\p{L}\p{N} ]/gu, " ").trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return "?";
  return ((parts[0]?.[0] ?? "") + (parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? "") : "")).toUpperCase();
}

/** Time left in the customer window, e.g. "23h 10m left". */
export function windowLeft(expiresAt: string | null | undefined, now: Date = new Date()): string | null {
  if (!expiresAt) return null;
  const minutes = dayjs(expiresAt).diff(now, "minute");
  if (minutes <= 0) return null;
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours}h ${minutes % 60}m left` : `${minutes}m left`;
}

export { dayjs };
