/**
 * What the campaign screens need to know about the API's campaigns: the lifecycle (the same transitions the
 * server allows), colours and labels, why a campaign is paused or holding back, the parameter mapping the form
 * builds from a template's placeholders, and the header of a CSV file about to be uploaded.
 */
import type { AudiencePreview, CampaignAction, CampaignStats, CampaignStatus, ParameterMapping, ParameterSource, PauseCode, RecipientStatus, Template } from "../../api/resources";
import type { TemplateField } from "../../lib/templates";

export const CAMPAIGN_STATUSES: CampaignStatus[] = ["draft", "scheduled", "running", "paused", "completed", "cancelled"];

export const CAMPAIGN_STATUS_COLOR: Record<CampaignStatus, string> = {
  draft: "gray",
  scheduled: "blue",
  running: "teal",
  paused: "orange",
  completed: "green",
  cancelled: "dark",
};

export const RECIPIENT_STATUSES: RecipientStatus[] = ["queued", "sending", "sent", "delivered", "read", "replied", "failed", "skipped"];

export const RECIPIENT_STATUS_COLOR: Record<RecipientStatus, string> = {
  queued: "gray",
  sending: "cyan",
  sent: "blue",
  delivered: "indigo",
  read: "teal",
  replied: "green",
  failed: "red",
  skipped: "yellow",
};

/** Where each lifecycle action is allowed from: the server's `TRANSITIONS` (anything else answers 422). */
const ALLOWED_FROM: Record<CampaignAction, CampaignStatus[]> = {
  schedule: ["draft", "scheduled"],
  unschedule: ["scheduled"],
  start: ["draft", "scheduled"],
  pause: ["running"],
  resume: ["paused"],
  cancel: ["draft", "scheduled", "running", "paused"],
};
const RETRY_FROM: CampaignStatus[] = ["running", "paused", "completed"];

export function allowedActions(status: CampaignStatus): CampaignAction[] {
  return (Object.keys(ALLOWED_FROM) as CampaignAction[]).filter((action) => ALLOWED_FROM[action].includes(status));
}

/** Retrying failed recipients: allowed from these statuses, and only useful when a failure is retryable. */
export function canRetryFailed(status: CampaignStatus): boolean {
  return RETRY_FROM.includes(status);
}

/** Only drafts are edited or deleted (the others keep their history and are cancelled instead). */
export const isDraft = (status: CampaignStatus) => status === "draft";

/** Running and scheduled campaigns change on their own: their figures are kept fresh. */
export const isLive = (status: CampaignStatus) => status === "running" || status === "scheduled";

export type PauseKind = "manual" | "template" | "quality" | "quota" | "number" | "other";

const PAUSE_KIND: Record<PauseCode, PauseKind> = {
  paused_by_user: "manual",
  template_not_approved: "template",
  parameter_mapping_invalid: "template",
  phone_number_quality_dropped: "quality",
  monthly_quota_used: "quota",
  phone_number_refused: "number",
  phone_number_disabled: "number",
  phone_number_needs_credentials: "number",
};

/** What kind of pause the server's code names, for a clear title above the reason itself. */
export function pauseKind(code: PauseCode | null | undefined): PauseKind {
  return code ? (PAUSE_KIND[code] ?? "other") : "other";
}

export const PAUSE_TITLE: Record<PauseKind, string> = {
  manual: "Paused by an administrator",
  template: "Paused: the template cannot be sent",
  quality: "Paused: the number's quality rating dropped",
  quota: "Paused: the message quota is used up",
  number: "Paused: the phone number cannot send",
  other: "Paused",
};

const SKIP_REASONS: Record<string, string> = {
  opted_out: "Opted out",
  blocked: "Blocked",
  campaign_cancelled: "Campaign cancelled",
  invalid_number: "Invalid number",
  duplicate: "Duplicate",
};

export function skipReasonLabel(reason: string | null | undefined): string {
  if (!reason) return "Skipped";
  return SKIP_REASONS[reason] ?? reason.replace(/_/g, " ");
}

/** "4 of 6 will receive it (1 invalid number, 1 duplicate)": the server's preview of an audience in words. */
export function audienceSummary(preview: AudiencePreview): string {
  const left = preview.skipped.map((s) => `${s.count} ${skipReasonLabel(s.reason).toLowerCase()}`);
  return `${preview.eligible} of ${preview.total} will receive it${left.length ? ` (${left.join(", ")})` : ""}.`;
}

/** "1 row", "3 rows"; without the count when `withCount` is false. */
export function plural(count: number, word: string, withCount = false): string {
  const text = count === 1 ? word : `${word}s`;
  return withCount ? `${count} ${text}` : text;
}

export function formatPercent(rate: number | null | undefined): string {
  if (rate == null || !Number.isFinite(rate)) return "—";
  const value = rate * 100;
  return `${value >= 10 || value === 0 ? value.toFixed(0) : value.toFixed(1)}%`;
}

/** "45 s", "12 min", "2 h 5 min", "3 d 4 h". */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

export type Counts = Required<CampaignStats["counts"]>;

/** Counts with every state present (the API leaves out nothing, but its schema makes them optional). */
export function fullCounts(counts: CampaignStats["counts"]): Counts {
  return {
    total: counts.total ?? 0,
    queued: counts.queued ?? 0,
    sending: counts.sending ?? 0,
    sent: counts.sent ?? 0,
    delivered: counts.delivered ?? 0,
    read: counts.read ?? 0,
    replied: counts.replied ?? 0,
    failed: counts.failed ?? 0,
    skipped: counts.skipped ?? 0,
  };
}

/** How far a campaign is: recipients handed over and settled (sent or beyond, failed, skipped) of all. */
export function progressOf(counts: Counts): number {
  if (!counts.total) return 0;
  const done = counts.total - counts.queued - counts.sending;
  return Math.min(100, Math.max(0, (done / counts.total) * 100));
}

// --- parameter mapping -------------------------------------------------------------------------------------

export const CONTACT_FIELDS: { value: string; label: string }[] = [
  { value: "name", label: "Name (saved, else WhatsApp profile)" },
  { value: "firstName", label: "First name" },
  { value: "profileName", label: "WhatsApp profile name" },
  { value: "phone", label: "Phone number (+…)" },
  { value: "waId", label: "WhatsApp id (digits)" },
  { value: "attribute", label: "Contact attribute…" },
];

/** One placeholder's source as the form edits it. */
export type SourceDraft = {
  source: "contact" | "csv" | "static";
  field: string;
  attribute: string;
  column: string;
  value: string;
  fallback: string;
};

export const emptySource = (source: SourceDraft["source"] = "contact"): SourceDraft => ({
  source,
  field: "firstName",
  attribute: "",
  column: "",
  value: "",
  fallback: "",
});

/** The source the API expects, or null while it is incomplete. */
export function toSource(draft: SourceDraft | undefined): ParameterSource | null {
  if (!draft) return null;
  const fallback = draft.fallback.trim() || undefined;
  if (draft.source === "contact") {
    const field = draft.field === "attribute" ? (draft.attribute.trim() ? `attributes.${draft.attribute.trim()}` : "") : draft.field;
    return field ? { source: "contact", field, fallback } : null;
  }
  if (draft.source === "csv") return draft.column ? { source: "csv", column: draft.column, fallback } : null;
  return draft.value.trim() ? { source: "static", value: draft.value.trim() } : null;
}

/** The template's placeholders still without a complete source. */
export function incompleteFields(fields: TemplateField[], drafts: Record<string, SourceDraft>): TemplateField[] {
  return fields.filter((field) => toSource(drafts[field.key]) === null);
}

/** `parameterMapping` for the template's placeholders (incomplete sources are left out: the API names them). */
export function toMapping(fields: TemplateField[], drafts: Record<string, SourceDraft>): ParameterMapping {
  const mapping: ParameterMapping = {};
  for (const field of fields) {
    const source = toSource(drafts[field.key]);
    if (!source) continue;
    if (field.media) mapping.headerMedia = source;
    else if (field.section === "header") mapping.header = { ...mapping.header, [field.name]: source };
    else if (field.section === "body") mapping.body = { ...mapping.body, [field.name]: source };
    else {
      const index = String(field.buttonIndex ?? 0);
      mapping.buttons = { ...mapping.buttons, [index]: { ...mapping.buttons?.[index], [field.name]: source } };
    }
  }
  return mapping;
}

function contactLabel(draft: SourceDraft): string {
  if (draft.field === "attribute") return `‹${draft.attribute.trim() || "attribute"}›`;
  const label = CONTACT_FIELDS.find((f) => f.value === draft.field)?.label ?? draft.field;
  return `‹${label.replace(/ \(.*\)$/, "").toLowerCase()}›`;
}

/**
 * The values the live preview shows for each placeholder: fixed values as typed, CSV cells from the file's
 * first row, contact fields from the server's sample recipient when there is one (else a readable stand-in).
 */
export function previewValues(
  fields: TemplateField[],
  drafts: Record<string, SourceDraft>,
  csvRow: Record<string, string> | null,
  sample: Record<string, string> | null,
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of fields) {
    const draft = drafts[field.key];
    if (!draft) continue;
    const value =
      draft.source === "static"
        ? draft.value
        : draft.source === "csv"
          ? (draft.column && csvRow?.[draft.column]) || draft.fallback || (draft.column ? `‹${draft.column}›` : "")
          : sample?.[field.key] || contactLabel(draft);
    if (value.trim()) values[field.key] = value;
  }
  return values;
}

/** The values of a server-filled sample (Meta's `components`), keyed like the form's fields. */
export function sampleValues(fields: TemplateField[], components: Record<string, unknown>[]): Record<string, string> {
  const values: Record<string, string> = {};
  const parameters = (type: string, index?: string) =>
    ((components.find((c) => c.type === type && (index === undefined || c.index === index))?.parameters ?? []) as Record<string, unknown>[]);
  const text = (p: Record<string, unknown> | undefined) => (typeof p?.text === "string" ? p.text : "");
  const header = fields.filter((f) => f.section === "header");
  header.forEach((field, i) => {
    const p = parameters("header")[i];
    const media = field.media ? (p?.[field.media] as { link?: string } | undefined)?.link : undefined;
    values[field.key] = field.media ? (media ?? "") : text(p);
  });
  fields.filter((f) => f.section === "body").forEach((field, i) => (values[field.key] = text(parameters("body")[i])));
  const byButton = new Map<number, TemplateField[]>();
  for (const field of fields.filter((f) => f.section === "button")) {
    byButton.set(field.buttonIndex ?? 0, [...(byButton.get(field.buttonIndex ?? 0) ?? []), field]);
  }
  for (const [index, buttonFields] of byButton) {
    buttonFields.forEach((field, i) => (values[field.key] = text(parameters("button", String(index))[i])));
  }
  return values;
}

/** Templates a number can broadcast: approved, of the number's WhatsApp Business Account. */
export function broadcastTemplates(templates: Template[], wabaId: string | undefined): Template[] {
  return templates.filter((t) => t.status.toUpperCase() === "APPROVED" && (!wabaId || t.wabaId === wabaId));
}

// --- CSV ---------------------------------------------------------------------------------------------------

/** Splits one CSV line (quotes, doubled quotes; `,`, `;` or tab as the file uses). */
function splitLine(line: string, delimiter: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === delimiter) {
      cells.push(cell.trim());
      cell = "";
    } else cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

const PHONE_COLUMNS = ["phone", "phone_number", "phonenumber", "number", "wa_id", "waid", "to", "mobile", "whatsapp"];

export type CsvHead = { columns: string[]; phoneColumn: string | null; firstRow: Record<string, string> | null };

/**
 * The header and first data row of a CSV text, to offer its columns in the mapping before uploading (the
 * server reads the whole file; this only needs its first lines).
 */
export function readCsvHead(text: string): CsvHead {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/).filter((l) => l.trim());
  const first = lines[0] ?? "";
  const delimiter = [",", ";", "\t"].reduce((best, d) => (first.split(d).length > first.split(best).length ? d : best), ",");
  const columns = first ? splitLine(first, delimiter).filter(Boolean) : [];
  const phoneColumn = columns.find((c) => PHONE_COLUMNS.includes(c.toLowerCase())) ?? null;
  const row = lines[1] ? splitLine(lines[1], delimiter) : null;
  const firstRow = row ? Object.fromEntries(columns.map((c, i) => [c, row[i] ?? ""])) : null;
  return { columns, phoneColumn, firstRow };
}
