/** Formatting of analytics figures: durations in seconds, rates as 0..1 ratios. */

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null) return "—";
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${Math.round(seconds % 60)}s`;
  const hours = Math.floor(seconds / 3600);
  if (hours < 48) return `${hours}h ${Math.round((seconds % 3600) / 60)}m`;
  return `${Math.round(hours / 24)}d`;
}

export function percent(ratio: number | null | undefined): string {
  if (ratio == null) return "—";
  const value = ratio * 100;
  return `${value.toFixed(value < 10 && value > 0 ? 1 : 0)}%`;
}
