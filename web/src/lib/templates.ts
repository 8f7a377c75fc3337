/**
 * What a template needs before it can be sent, the `components` Meta expects for the values an agent typed,
 * and the live preview. The same rules as the server's (placeholders `{{1}}` or `{{name}}` in the header text,
 * body and URL buttons; media headers need a link), so problems show before sending.
 */
import type { Template, TemplateComponent } from "../api/resources";

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
const MEDIA_FORMATS = new Set(["IMAGE", "VIDEO", "DOCUMENT"]);

export function placeholders(text: string | undefined): string[] {
  const seen: string[] = [];
  for (const match of (text ?? "").matchAll(PLACEHOLDER)) {
    const name = match[1] ?? "";
    if (!seen.includes(name)) seen.push(name);
  }
  return seen;
}

export type TemplateField = {
  /** Stable key of the value: "header:1", "body:name", "header:media", "button:0:1". */
  key: string;
  section: "header" | "body" | "button";
  name: string;
  label: string;
  example?: string;
  media?: "image" | "video" | "document";
  buttonIndex?: number;
};

function component(template: Pick<Template, "components">, type: string): TemplateComponent | undefined {
  return template.components.find((c) => c.type.toUpperCase() === type);
}

function exampleValues(part: TemplateComponent | undefined, key: string): string[] {
  const raw = part?.example?.[key];
  if (!Array.isArray(raw)) return [];
  const first = raw[0];
  if (Array.isArray(first)) return first.map(String);
  return raw.map((value) => (typeof value === "string" ? value : String((value as { example?: unknown })?.example ?? "")));
}

export function templateFields(template: Template): TemplateField[] {
  const fields: TemplateField[] = [];
  const header = component(template, "HEADER");
  const headerFormat = (header?.format ?? "TEXT").toUpperCase();
  if (header && MEDIA_FORMATS.has(headerFormat)) {
    const media = headerFormat.toLowerCase() as "image" | "video" | "document";
    fields.push({ key: "header:media", section: "header", name: media, label: `Header ${media} link`, media });
  } else if (header) {
    const examples = exampleValues(header, "header_text");
    placeholders(header.text).forEach((name, i) =>
      fields.push({ key: `header:${name}`, section: "header", name, label: `Header {{${name}}}`, example: examples[i] }),
    );
  }
  const body = component(template, "BODY");
  const bodyExamples = exampleValues(body, "body_text");
  placeholders(body?.text).forEach((name, i) =>
    fields.push({ key: `body:${name}`, section: "body", name, label: `Body {{${name}}}`, example: bodyExamples[i] }),
  );
  const buttons = component(template, "BUTTONS")?.buttons ?? [];
  buttons.forEach((button, index) => {
    if (button.type.toUpperCase() !== "URL") return;
    placeholders(button.url).forEach((name) =>
      fields.push({
        key: `button:${index}:${name}`,
        section: "button",
        name,
        label: `Button “${button.text ?? index + 1}” URL {{${name}}}`,
        buttonIndex: index,
      }),
    );
  });
  return fields;
}

export function missingFields(template: Template, values: Record<string, string>): TemplateField[] {
  return templateFields(template).filter((field) => !(values[field.key] ?? "").trim());
}

function isNamed(template: Template): boolean {
  return (template.parameterFormat ?? "POSITIONAL").toUpperCase() === "NAMED";
}

function textParameter(template: Template, field: TemplateField, value: string): Record<string, unknown> {
  const parameter: Record<string, unknown> = { type: "text", text: value };
  if (isNamed(template) && !/^\d+$/.test(field.name)) parameter.parameter_name = field.name;
  return parameter;
}

/** Meta's `components` for the values typed (empty list when the template takes no parameters). */
export function sendComponents(template: Template, values: Record<string, string>): Record<string, unknown>[] {
  const fields = templateFields(template);
  const components: Record<string, unknown>[] = [];
  const header = fields.filter((f) => f.section === "header");
  if (header.length > 0) {
    components.push({
      type: "header",
      parameters: header.map((field) =>
        field.media
          ? { type: field.media, [field.media]: { link: (values[field.key] ?? "").trim() } }
          : textParameter(template, field, values[field.key] ?? ""),
      ),
    });
  }
  const body = fields.filter((f) => f.section === "body");
  if (body.length > 0) {
    components.push({ type: "body", parameters: body.map((field) => textParameter(template, field, values[field.key] ?? "")) });
  }
  const byButton = new Map<number, TemplateField[]>();
  for (const field of fields.filter((f) => f.section === "button")) {
    byButton.set(field.buttonIndex ?? 0, [...(byButton.get(field.buttonIndex ?? 0) ?? []), field]);
  }
  for (const [index, buttonFields] of byButton) {
    components.push({
      type: "button",
      sub_type: "url",
      index: String(index),
      parameters: buttonFields.map((field) => ({ type: "text", text: values[field.key] ?? "" })),
    });
  }
  return components;
}

function fill(text: string | undefined, section: string, values: Record<string, string>): string {
  return (text ?? "").replace(PLACEHOLDER, (whole, name: string) => {
    const value = values[`${section}:${name}`];
    return value && value.trim() ? value : whole;
  });
}

export type TemplatePreview = {
  header: string | null;
  headerMedia: string | null;
  body: string;
  footer: string | null;
  buttons: string[];
};

/** The message as the customer will see it, with the values typed so far (placeholders kept where empty). */
export function previewTemplate(template: Pick<Template, "components">, values: Record<string, string>): TemplatePreview {
  const header = component(template, "HEADER");
  const format = (header?.format ?? "TEXT").toUpperCase();
  return {
    header: header && !MEDIA_FORMATS.has(format) && format !== "LOCATION" ? fill(header.text, "header", values) : null,
    headerMedia: header && MEDIA_FORMATS.has(format) ? format.toLowerCase() : null,
    body: fill(component(template, "BODY")?.text, "body", values),
    footer: component(template, "FOOTER")?.text ?? null,
    buttons: (component(template, "BUTTONS")?.buttons ?? []).map((b) => b.text ?? b.type),
  };
}

export function previewText(preview: TemplatePreview): string {
  return [preview.header, preview.body, preview.footer].filter(Boolean).join("\n");
}
