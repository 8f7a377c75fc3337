import { Alert, Badge, Box, Button, Group, Paper, Select, Stack, Text, TextInput } from "@mantine/core";
import { IconSend, IconTemplate } from "@tabler/icons-react";
import { useMemo, useState } from "react";
import type { Template } from "../../api/resources";
import { missingFields, previewTemplate, sendComponents, templateFields } from "../../lib/templates";

export type TemplateSend = {
  name: string;
  language: string;
  components: Record<string, unknown>[];
};

/** The rendered message, as the customer will see it. */
export function TemplatePreviewCard({ template, values }: { template: Pick<Template, "components">; values: Record<string, string> }) {
  const preview = previewTemplate(template, values);
  return (
    <Paper withBorder p="sm" radius="md" className="template-preview" aria-label="Template preview" data-testid="template-preview">
      {preview.headerMedia && (
        <Badge variant="light" color="gray" mb={6}>
          {preview.headerMedia} header
        </Badge>
      )}
      {preview.header && (
        <Text fw={700} size="sm" mb={4}>
          {preview.header}
        </Text>
      )}
      <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>
        {preview.body}
      </Text>
      {preview.footer && (
        <Text size="xs" c="dimmed" mt={6}>
          {preview.footer}
        </Text>
      )}
      {preview.buttons.length > 0 && (
        <Group gap={4} mt={8}>
          {preview.buttons.map((b, i) => (
            <Badge key={i} variant="outline" size="sm">
              {b}
            </Badge>
          ))}
        </Group>
      )}
    </Paper>
  );
}

export type TemplatePickerProps = {
  templates: Template[] | undefined;
  loading?: boolean;
  unavailable?: string | null;
  sending?: boolean;
  onSend: (template: TemplateSend, preview: string, chosen: Template) => void | Promise<void>;
  submitLabel?: string;
};

export function templateKey(t: Template): string {
  return `${t.name}|${t.language}`;
}

/** Choose an approved template, fill its parameters, see the message live, send it. */
export function TemplatePicker({ templates, loading, unavailable, sending, onSend, submitLabel = "Send template" }: TemplatePickerProps) {
  const approved = useMemo(() => (templates ?? []).filter((t) => t.status.toUpperCase() === "APPROVED"), [templates]);
  const [chosenKey, setChosenKey] = useState<string | null>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const chosen = approved.find((t) => templateKey(t) === chosenKey) ?? null;
  const fields = chosen ? templateFields(chosen) : [];
  const missing = chosen ? missingFields(chosen, values) : [];

  if (unavailable) {
    return (
      <Alert color="gray" variant="light" icon={<IconTemplate size={18} />}>
        {unavailable}
      </Alert>
    );
  }
  const submit = () => {
    if (!chosen || missing.length > 0) return;
    const preview = previewTemplate(chosen, values);
    void onSend(
      { name: chosen.name, language: chosen.language, components: sendComponents(chosen, values) },
      [preview.header, preview.body, preview.footer].filter(Boolean).join("\n"),
      chosen,
    );
  };
  return (
    <Stack gap="sm" data-testid="template-picker">
      <Select
        label="Template"
        data-testid="template-select"
        placeholder={loading ? "Loading templates…" : approved.length ? "Choose an approved template" : "No approved templates"}
        searchable
        nothingFoundMessage="No template matches"
        data={approved.map((t) => ({ value: templateKey(t), label: `${t.name} · ${t.language} · ${t.category.toLowerCase()}` }))}
        value={chosenKey}
        onChange={(key) => {
          setChosenKey(key);
          setValues({});
        }}
        disabled={loading || approved.length === 0}
        comboboxProps={{ withinPortal: true }}
      />
      {chosen && (
        <>
          {fields.length > 0 && (
            <Box className="template-fields">
              {fields.map((field) => (
                <TextInput
                  key={field.key}
                  label={field.label}
                  placeholder={field.media ? "https://…" : field.example ? `e.g. ${field.example}` : undefined}
                  value={values[field.key] ?? ""}
                  onChange={(e) => {
                    const value = e.currentTarget.value;
                    setValues((v) => ({ ...v, [field.key]: value }));
                  }}
                  required
                  size="xs"
                />
              ))}
            </Box>
          )}
          <TemplatePreviewCard template={chosen} values={values} />
          <Group justify="space-between">
            <Text size="xs" c="dimmed">
              {missing.length > 0 ? `Fill ${missing.length} more field${missing.length === 1 ? "" : "s"} to send.` : "Ready to send."}
            </Text>
            <Button leftSection={<IconSend size={16} />} onClick={submit} disabled={missing.length > 0} loading={sending}>
              {submitLabel}
            </Button>
          </Group>
        </>
      )}
    </Stack>
  );
}
