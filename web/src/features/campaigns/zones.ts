/** Time zones for schedules: the browser's own, the list to choose from, and a time shown in a zone. */

export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

let cached: string[] | null = null;

/** Every IANA zone the browser knows (UTC and the browser's own always included). */
export function timeZones(): string[] {
  if (!cached) {
    const all = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    cached = [...new Set(["UTC", browserZone(), ...all])].sort();
  }
  return cached;
}

/** An instant as the wall-clock time of `zone`, "YYYY-MM-DD HH:mm:ss" (the date picker's value format). */
export function toZoneInput(iso: string, zone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

/** "Mon 1 Dec 2026, 09:00 (Europe/Paris)": a schedule shown the way it was entered. */
export function inZone(iso: string, zone: string | null | undefined): string {
  const z = zone || browserZone();
  const text = new Intl.DateTimeFormat("en-GB", {
    timeZone: z,
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(new Date(iso));
  return `${text} (${z})`;
}
