import { Autocomplete, Paper, SegmentedControl, Select, SimpleGrid, Stack, Text, TextInput } from "@mantine/core";
import type { TemplateField } from "../../lib/templates";
import { CONTACT_FIELDS, emptySource, type SourceDraft } from "./model";

/** A sensible first source for each placeholder: the CSV column of the same name, the first name, or a value. */
export function defaultDrafts(fields: TemplateField[], csvColumns: string[] | null): Record<string, SourceDraft> {
  const drafts: Record<string, SourceDraft> = {};
  let firstText = true;
  for (const field of fields) {
    const column = csvColumns?.find((c) => c.toLowerCase() === field.name.toLowerCase());
    if (column) drafts[field.key] = { ...emptySource("csv"), column };
    else if (!field.media && firstText && field.section !== "button") drafts[field.key] = emptySource("contact");
    else drafts[field.key] = emptySource("static");
    if (!field.media) firstText = false;
  }
  return drafts;
}

/** Drafts still valid for an audience: CSV columns only exist for a CSV upload. */
export function draftsForAudience(drafts: Record<string, SourceDraft>, csvColumns: string[] | null): Record<string, SourceDraft> {
  return Object.fromEntries(
    Object.entries(drafts).map(([key, draft]) => [
      key,
      draft.source === "csv" && (!csvColumns || (draft.column && !csvColumns.includes(draft.column)))
        ? { ...draft, source: csvColumns ? "csv" : "contact", column: "" }
        : draft,
    ]),
  ) as Record<string, SourceDraft>;
}

/**
 * Where each of the template's placeholders gets its value for every recipient: a contact field, a column of
 * the uploaded CSV, or a fixed value; contact fields and CSV cells can fall back to a value when empty.
 */
export function ParameterMappingEditor({
  fields,
  drafts,
  onChange,
  csvColumns,
  attributeKeys = [],
  showErrors = false,
}: {
  fields: TemplateField[];
  drafts: Record<string, SourceDraft>;
  onChange: (drafts: Record<string, SourceDraft>) => void;
  /** The uploaded file's columns; null when the audience is not a CSV upload. */
  csvColumns: string[] | null;
  /** Attribute keys the company's contacts use, suggested (any other name can still be typed). */
  attributeKeys?: string[];
  /** Mark incomplete sources (after a first attempt to save). */
  showErrors?: boolean;
}) {
  if (fields.length === 0) {
    return (
      <Text size="sm" c="dimmed">
        This template has no placeholders: every recipient gets the same message.
      </Text>
    );
  }
  const set = (key: string, patch: Partial<SourceDraft>) => onChange({ ...drafts, [key]: { ...(drafts[key] ?? emptySource()), ...patch } });
  const sources = [
    { value: "contact", label: "Contact field" },
    ...(csvColumns ? [{ value: "csv", label: "CSV column" }] : []),
    { value: "static", label: "Fixed value" },
  ];
  return (
    <Stack gap="sm" aria-label="Parameter mapping">
      {fields.map((field) => {
        const draft = drafts[field.key] ?? emptySource();
        return (
          <Paper key={field.key} withBorder radius="md" p="sm" data-testid={`mapping-${field.key}`}>
            <Stack gap={6}>
              <Text size="sm" fw={600}>
                {field.label}
                {field.example && (
                  <Text span size="xs" c="dimmed" fw={400}>
                    {" "}
                    e.g. {field.example}
                  </Text>
                )}
              </Text>
              <SegmentedControl
                size="xs"
                data={sources}
                value={draft.source}
                onChange={(source) => set(field.key, { source: source as SourceDraft["source"] })}
                aria-label={`${field.label} source`}
                fullWidth
              />
              {draft.source === "contact" && (
                <SimpleGrid cols={{ base: 1, sm: draft.field === "attribute" ? 3 : 2 }} spacing="xs">
                  <Select
                    size="xs"
                    label="Contact field"
                    aria-label={`${field.label} contact field`}
                    data={CONTACT_FIELDS}
                    value={draft.field}
                    onChange={(v) => set(field.key, { field: v ?? "name" })}
                    allowDeselect={false}
                  />
                  {draft.field === "attribute" && (
                    <Autocomplete
                      size="xs"
                      label="Attribute"
                      placeholder="e.g. city"
                      aria-label={`${field.label} attribute`}
                      data={attributeKeys}
                      value={draft.attribute}
                      onChange={(attribute) => set(field.key, { attribute })}
                      error={showErrors && !draft.attribute.trim() ? "Name the attribute" : undefined}
                    />
                  )}
                  <TextInput
                    size="xs"
                    label="If empty"
                    placeholder="e.g. there"
                    aria-label={`${field.label} fallback`}
                    value={draft.fallback}
                    onChange={(e) => set(field.key, { fallback: e.currentTarget.value })}
                  />
                </SimpleGrid>
              )}
              {draft.source === "csv" && (
                <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
                  <Select
                    size="xs"
                    label="Column"
                    aria-label={`${field.label} column`}
                    placeholder={csvColumns?.length ? "Choose a column" : "Choose a CSV file first"}
                    data={csvColumns ?? []}
                    value={draft.column || null}
                    onChange={(v) => set(field.key, { column: v ?? "" })}
                    error={showErrors && !draft.column ? "Choose the column" : undefined}
                  />
                  <TextInput
                    size="xs"
                    label="If empty"
                    aria-label={`${field.label} fallback`}
                    value={draft.fallback}
                    onChange={(e) => set(field.key, { fallback: e.currentTarget.value })}
                  />
                </SimpleGrid>
              )}
              {draft.source === "static" && (
                <TextInput
                  size="xs"
                  label="Value"
                  aria-label={`${field.label} value`}
                  placeholder={field.media ? "https://…" : field.example ? `e.g. ${field.example}` : undefined}
                  value={draft.value}
                  onChange={(e) => set(field.key, { value: e.currentTarget.value })}
                  error={showErrors && !draft.value.trim() ? "Enter the value" : undefined}
                />
              )}
            </Stack>
          </Paper>
        );
      })}
    </Stack>
  );
}
