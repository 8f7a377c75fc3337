/**
 * The template builder's draft: what an administrator types, the problems Meta's rules find in it (the same
 * checks as the server's `templates/validation.py`, so most show while typing), the creation body the API takes,
 * and the API's 422 problems (`{path, message}`) placed on the field they are about.
 */
import type { TemplateComponent } from "../../api/resources";
import { ApiError } from "../../api/http";
import { placeholders } from "../../lib/templates";

export const LIMITS = { name: 512, header: 60, body: 1024, footer: 60, buttons: 10, buttonText: 25, copyCode: 15, url: 2000 } as const;
const MAX_OF_KIND: Partial<Record<ButtonKind, number>> = { URL: 2, PHONE_NUMBER: 1, COPY_CODE: 1 };

export type Category = "MARKETING" | "UTILITY" | "AUTHENTICATION";
export type HeaderKind = "NONE" | "TEXT" | "IMAGE" | "VIDEO" | "DOCUMENT";
export type ButtonKind = "QUICK_REPLY" | "URL" | "PHONE_NUMBER" | "COPY_CODE";

export const CATEGORIES: { value: Category; label: string; description: string }[] = [
  { value: "MARKETING", label: "Marketing", description: "Offers, announcements, invitations." },
  { value: "UTILITY", label: "Utility", description: "Updates about an order, booking or account the customer has." },
  { value: "AUTHENTICATION", label: "Authentication", description: "One-time passcodes; WhatsApp sets the wording." },
];

export const HEADER_KINDS: { value: HeaderKind; label: string }[] = [
  { value: "NONE", label: "None" },
  { value: "TEXT", label: "Text" },
  { value: "IMAGE", label: "Image" },
  { value: "VIDEO", label: "Video" },
  { value: "DOCUMENT", label: "Document" },
];

export const BUTTON_KINDS: { value: ButtonKind; label: string }[] = [
  { value: "QUICK_REPLY", label: "Quick reply" },
  { value: "URL", label: "Visit website" },
  { value: "PHONE_NUMBER", label: "Call phone number" },
  { value: "COPY_CODE", label: "Copy offer code" },
];

/** Common template languages (codes as WhatsApp takes them); the server accepts Meta's full list. */
export const LANGUAGES: { value: string; label: string }[] = [
  ["en_US", "English (US)"],
  ["en_GB", "English (UK)"],
  ["en", "English"],
  ["es", "Spanish"],
  ["es_ES", "Spanish (Spain)"],
  ["es_MX", "Spanish (Mexico)"],
  ["es_AR", "Spanish (Argentina)"],
  ["pt_BR", "Portuguese (Brazil)"],
  ["pt_PT", "Portuguese (Portugal)"],
  ["fr", "French"],
  ["de", "German"],
  ["it", "Italian"],
  ["nl", "Dutch"],
  ["pl", "Polish"],
  ["ro", "Romanian"],
  ["ru", "Russian"],
  ["uk", "Ukrainian"],
  ["tr", "Turkish"],
  ["ar", "Arabic"],
  ["he", "Hebrew"],
  ["hi", "Hindi"],
  ["bn", "Bengali"],
  ["ur", "Urdu"],
  ["id", "Indonesian"],
  ["ms", "Malay"],
  ["th", "Thai"],
  ["vi", "Vietnamese"],
  ["fil", "Filipino"],
  ["zh_CN", "Chinese (simplified)"],
  ["zh_TW", "Chinese (traditional)"],
  ["ja", "Japanese"],
  ["ko", "Korean"],
  ["sw", "Swahili"],
].map(([value, label]) => ({ value: value!, label: `${label} · ${value}` }));

export type ButtonDraft = {
  id: string;
  kind: ButtonKind;
  text: string;
  url: string;
  /** The value of the URL's `{{1}}` in the example Meta reviews. */
  urlExample: string;
  phone: string;
  code: string;
};

export type TemplateDraft = {
  phoneNumberId: string | null;
  name: string;
  category: Category;
  language: string;
  headerKind: HeaderKind;
  headerText: string;
  /** The handle of a sample uploaded with Meta's Resumable Upload API (media headers). */
  headerHandle: string;
  body: string;
  footer: string;
  buttons: ButtonDraft[];
  /** Example values by placeholder key, "header:1" or "body:first_name" (the keys of the preview's values). */
  examples: Record<string, string>;
  securityRecommendation: boolean;
  codeExpiryMinutes: number | null;
  otpText: string;
};

export function emptyDraft(): TemplateDraft {
  return {
    phoneNumberId: null,
    name: "",
    category: "UTILITY",
    language: "en_US",
    headerKind: "NONE",
    headerText: "",
    headerHandle: "",
    body: "",
    footer: "",
    buttons: [],
    examples: {},
    securityRecommendation: true,
    codeExpiryMinutes: null,
    otpText: "Copy code",
  };
}

let buttonCounter = 0;
export function newButton(kind: ButtonKind): ButtonDraft {
  buttonCounter += 1;
  return { id: `button-${buttonCounter}`, kind, text: "", url: "", urlExample: "", phone: "", code: "" };
}

const isAuth = (draft: TemplateDraft) => draft.category === "AUTHENTICATION";
const hasTextHeader = (draft: TemplateDraft) => !isAuth(draft) && draft.headerKind === "TEXT";

export type ExampleField = { key: string; section: "header" | "body"; name: string; label: string };

/** One example field per placeholder of the header text and body, in order of appearance. */
export function exampleFields(draft: TemplateDraft): ExampleField[] {
  if (isAuth(draft)) return [];
  const header = hasTextHeader(draft) ? placeholders(draft.headerText) : [];
  return [
    ...header.map((name) => ({ key: `header:${name}`, section: "header" as const, name, label: `Header example for {{${name}}}` })),
    ...placeholders(draft.body).map((name) => ({ key: `body:${name}`, section: "body" as const, name, label: `Example for {{${name}}}` })),
  ];
}

/** NAMED as soon as a parameter is not a number ({{first_name}}); POSITIONAL ({{1}}, {{2}}) otherwise. */
export function parameterFormat(draft: TemplateDraft): "POSITIONAL" | "NAMED" {
  return exampleFields(draft).some((f) => !/^\d+$/.test(f.name)) ? "NAMED" : "POSITIONAL";
}

/** The body's next positional placeholder, for the "Add variable" button. */
export function nextPlaceholder(draft: TemplateDraft): string {
  const numbers = placeholders(draft.body).filter((n) => /^\d+$/.test(n)).map(Number);
  return `{{${(numbers.length ? Math.max(...numbers) : 0) + 1}}}`;
}

const hasUrlParameter = (button: ButtonDraft) => placeholders(button.url).length > 0;
const exampleUrl = (button: ButtonDraft) => button.url.replace(/\{\{\s*1\s*\}\}/, button.urlExample.trim());

export function defaultOtpBody(draft: TemplateDraft): string {
  return `{{1}} is your verification code.${draft.securityRecommendation ? " For your security, do not share this code." : ""}`;
}

/** Meta's components for the draft, in Meta's order (header, body, footer, buttons). */
export function draftComponents(draft: TemplateDraft): TemplateComponent[] {
  const named = parameterFormat(draft) === "NAMED";
  const example = (section: "header" | "body") => exampleFields(draft).filter((f) => f.section === section).map((f) => ({ name: f.name, value: draft.examples[f.key] ?? "" }));
  if (isAuth(draft)) {
    const components: TemplateComponent[] = [{ type: "BODY", add_security_recommendation: draft.securityRecommendation } as TemplateComponent];
    if (draft.codeExpiryMinutes) components.push({ type: "FOOTER", code_expiration_minutes: draft.codeExpiryMinutes } as TemplateComponent);
    components.push({ type: "BUTTONS", buttons: [{ type: "OTP", otp_type: "COPY_CODE", text: draft.otpText.trim() || undefined } as { type: string }] });
    return components;
  }
  const components: TemplateComponent[] = [];
  if (draft.headerKind === "TEXT") {
    const values = example("header");
    components.push({
      type: "HEADER",
      format: "TEXT",
      text: draft.headerText,
      ...(values.length
        ? { example: named ? { header_text_named_params: values.map((v) => ({ param_name: v.name, example: v.value })) } : { header_text: values.map((v) => v.value) } }
        : {}),
    });
  } else if (draft.headerKind !== "NONE") {
    components.push({ type: "HEADER", format: draft.headerKind, example: { header_handle: [draft.headerHandle.trim()] } });
  }
  const values = example("body");
  components.push({
    type: "BODY",
    text: draft.body,
    ...(values.length
      ? { example: named ? { body_text_named_params: values.map((v) => ({ param_name: v.name, example: v.value })) } : { body_text: [values.map((v) => v.value)] } }
      : {}),
  });
  if (draft.footer.trim()) components.push({ type: "FOOTER", text: draft.footer });
  if (draft.buttons.length) {
    components.push({
      type: "BUTTONS",
      buttons: draft.buttons.map((b) => {
        switch (b.kind) {
          case "QUICK_REPLY":
            return { type: "QUICK_REPLY", text: b.text };
          case "URL":
            return { type: "URL", text: b.text, url: b.url.trim(), ...(hasUrlParameter(b) ? { example: [exampleUrl(b)] } : {}) };
          case "PHONE_NUMBER":
            return { type: "PHONE_NUMBER", text: b.text, phone_number: b.phone.replace(/\s+/g, "") };
          case "COPY_CODE":
            return { type: "COPY_CODE", example: b.code.trim() };
        }
      }),
    });
  }
  return components;
}

/** The draft as the preview card reads a template, with the examples as values. */
export function previewComponents(draft: TemplateDraft): TemplateComponent[] {
  if (!isAuth(draft)) {
    return draftComponents(draft).map((c) =>
      c.type === "BUTTONS" ? { ...c, buttons: draft.buttons.map((b) => ({ type: b.kind, text: b.kind === "COPY_CODE" ? "Copy offer code" : b.text || BUTTON_KINDS.find((k) => k.value === b.kind)?.label })) } : c,
    );
  }
  return [
    { type: "BODY", text: defaultOtpBody(draft) },
    ...(draft.codeExpiryMinutes ? [{ type: "FOOTER", text: `This code expires in ${draft.codeExpiryMinutes} minutes.` }] : []),
    { type: "BUTTONS", buttons: [{ type: "OTP", text: draft.otpText.trim() || "Copy code" }] },
  ];
}

export function previewValues(draft: TemplateDraft): Record<string, string> {
  return isAuth(draft) ? { "body:1": "123456" } : draft.examples;
}

// --- validation -------------------------------------------------------------------------------------------

/**
 * Field keys: "name", "language", "category", "phoneNumber", "header.text", "header.handle", "body.text",
 * "example:body:1", "body.examples", "footer.text", "buttons", "button.<i>.text|url|urlExample|phone|code".
 */
export type Problem = { field: string; message: string; /** An empty required value: only shown once submitted. */ missing?: boolean };

const NAME = /^[a-z0-9_]+$/;
const NAMED_PARAMETER = /^[a-z_][a-z0-9_]*$/;
const URL = /^https?:\/\/[^\s/$.?#].[^\s]*$/i;
const PHONE = /^\+?[0-9]{6,20}$/;

export function nameProblem(name: string): string | null {
  if (!name) return null;
  if (name.length > LIMITS.name) return `The name is ${name.length} characters; the limit is ${LIMITS.name}.`;
  if (!NAME.test(name)) return "Use lowercase letters, digits and underscores only (e.g. order_update).";
  return null;
}

function parameterProblems(text: string, field: string, format: "POSITIONAL" | "NAMED", problems: Problem[]) {
  for (const match of text.matchAll(/\{\{(.*?)\}\}/g)) {
    if (!/^\s*[A-Za-z0-9_]+\s*$/.test(match[1] ?? "")) problems.push({ field, message: `“${match[0]}” is not a valid variable; use {{1}} or {{name}}.` });
  }
  if (text.split("{{").length !== text.split("}}").length) problems.push({ field, message: "The text has unbalanced “{{” and “}}”." });
  const names = placeholders(text);
  if (!names.length) return names;
  if (format === "NAMED") {
    if (names.some((n) => /^\d+$/.test(n))) problems.push({ field, message: "Use either numbered variables ({{1}}) or named ones ({{first_name}}), not both." });
    else if (names.some((n) => !NAMED_PARAMETER.test(n))) problems.push({ field, message: "Named variables use lowercase letters, digits and underscores, starting with a letter." });
  }
  if (/\}\}\s*\{\{/.test(text)) problems.push({ field, message: "Two variables are next to each other; separate them with words or punctuation." });
  return names;
}

/** Every problem Meta's rules would find in the draft, by field. */
export function validateDraft(draft: TemplateDraft, options: { needsNumber?: boolean } = {}): Problem[] {
  const problems: Problem[] = [];
  if (!draft.name) problems.push({ field: "name", message: "Name the template.", missing: true });
  const name = nameProblem(draft.name);
  if (name) problems.push({ field: "name", message: name });
  if (!draft.language) problems.push({ field: "language", message: "Choose the language.", missing: true });
  if (options.needsNumber && !draft.phoneNumberId) problems.push({ field: "phoneNumber", message: "Choose the WhatsApp number.", missing: true });
  if (isAuth(draft)) {
    const minutes = draft.codeExpiryMinutes;
    if (minutes !== null && (!Number.isInteger(minutes) || minutes < 1 || minutes > 90)) problems.push({ field: "codeExpiry", message: "A whole number of minutes from 1 to 90." });
    if (draft.otpText.length > LIMITS.buttonText) problems.push({ field: "otpText", message: `${draft.otpText.length} characters; the limit is ${LIMITS.buttonText}.` });
    return problems;
  }
  const format = parameterFormat(draft);
  let positional: string[] = [];
  if (draft.headerKind === "TEXT") {
    const text = draft.headerText;
    if (!text.trim()) problems.push({ field: "header.text", message: "Write the header text (or choose no header).", missing: true });
    if (text.length > LIMITS.header) problems.push({ field: "header.text", message: `${text.length} characters; the limit is ${LIMITS.header}.` });
    if (/\n/.test(text) || /[\u{1F000}-\u{1FFFF}\u2600-\u27BF]/u.test(text)) problems.push({ field: "header.text", message: "A header cannot contain line breaks or emoji." });
    const names = parameterProblems(text, "header.text", format, problems);
    if (names.length > 1) problems.push({ field: "header.text", message: "A text header can have one variable at most." });
    if (format === "POSITIONAL" && names.length === 1 && names[0] !== "1") problems.push({ field: "header.text", message: "The header's variable is written {{1}}." });
  } else if (draft.headerKind !== "NONE" && !draft.headerHandle.trim()) {
    problems.push({ field: "header.handle", message: `Give the handle of a sample ${draft.headerKind.toLowerCase()} for the review.`, missing: true });
  }
  const body = draft.body;
  if (!body.trim()) problems.push({ field: "body.text", message: "Write the message body.", missing: true });
  if (body.length > LIMITS.body) problems.push({ field: "body.text", message: `${body.length} characters; the limit is ${LIMITS.body}.` });
  const names = parameterProblems(body, "body.text", format, problems);
  if (format === "POSITIONAL") positional = names;
  if (positional.length && [...positional].map(Number).sort((a, b) => a - b).some((n, i) => n !== i + 1)) {
    problems.push({ field: "body.text", message: "Number the variables {{1}}, {{2}}, … in sequence, without gaps." });
  }
  const trimmed = body.trim();
  if (names.length && (trimmed.startsWith("{{") || trimmed.endsWith("}}"))) problems.push({ field: "body.text", message: "The body cannot start or end with a variable; add words before or after it." });
  if (body.includes("\n\n\n")) problems.push({ field: "body.text", message: "No more than two line breaks in a row." });
  for (const field of exampleFields(draft)) {
    if (!(draft.examples[field.key] ?? "").trim()) problems.push({ field: `example:${field.key}`, message: `Give an example for {{${field.name}}}.`, missing: true });
  }
  if (draft.footer.length > LIMITS.footer) problems.push({ field: "footer.text", message: `${draft.footer.length} characters; the limit is ${LIMITS.footer}.` });
  if (draft.footer.includes("{{")) problems.push({ field: "footer.text", message: "The footer cannot contain variables." });
  buttonProblems(draft.buttons, problems);
  return problems;
}

function buttonProblems(buttons: ButtonDraft[], problems: Problem[]) {
  if (buttons.length > LIMITS.buttons) problems.push({ field: "buttons", message: `A template can have ${LIMITS.buttons} buttons at most.` });
  for (const [kind, limit] of Object.entries(MAX_OF_KIND)) {
    if (buttons.filter((b) => b.kind === kind).length > limit) {
      problems.push({ field: "buttons", message: `At most ${limit} “${BUTTON_KINDS.find((k) => k.value === kind)?.label}” button${limit === 1 ? "" : "s"}.` });
    }
  }
  const quick = buttons.flatMap((b, i) => (b.kind === "QUICK_REPLY" ? [i] : []));
  if (quick.length && quick[quick.length - 1]! - quick[0]! !== quick.length - 1) problems.push({ field: "buttons", message: "Keep quick reply buttons together, before or after the other buttons." });
  const texts = buttons.filter((b) => b.kind !== "COPY_CODE").map((b) => b.text.trim().toLowerCase()).filter(Boolean);
  const twice = texts.find((t, i) => texts.indexOf(t) !== i);
  if (twice) problems.push({ field: "buttons", message: `Button texts must differ: “${twice}” is used twice.` });
  buttons.forEach((b, i) => {
    const at = `button.${i}`;
    if (b.kind !== "COPY_CODE") {
      if (!b.text.trim()) problems.push({ field: `${at}.text`, message: "Write the button text.", missing: true });
      else if (b.text.length > LIMITS.buttonText) problems.push({ field: `${at}.text`, message: `${b.text.length} characters; the limit is ${LIMITS.buttonText}.` });
      else if (b.text.includes("{{")) problems.push({ field: `${at}.text`, message: "Button texts cannot contain variables." });
    }
    if (b.kind === "URL") {
      const url = b.url.trim();
      if (!url) problems.push({ field: `${at}.url`, message: "Give the website address.", missing: true });
      else if (!URL.test(url)) problems.push({ field: `${at}.url`, message: "An absolute http:// or https:// address." });
      else if (url.length > LIMITS.url) problems.push({ field: `${at}.url`, message: `The address is longer than ${LIMITS.url} characters.` });
      else {
        const names = placeholders(url);
        if (names.length > 1 || (names.length && !url.endsWith("}}")) || (names.length && names[0] !== "1")) {
          problems.push({ field: `${at}.url`, message: "One variable at most, written {{1}}, at the very end." });
        } else if (names.length && !b.urlExample.trim()) {
          problems.push({ field: `${at}.urlExample`, message: "Give an example value for {{1}}.", missing: true });
        }
      }
    } else if (b.kind === "PHONE_NUMBER") {
      if (!b.phone.trim()) problems.push({ field: `${at}.phone`, message: "Give the phone number.", missing: true });
      else if (!PHONE.test(b.phone.replace(/\s+/g, ""))) problems.push({ field: `${at}.phone`, message: "In international format, e.g. +14155550123." });
    } else if (b.kind === "COPY_CODE") {
      if (!b.code.trim()) problems.push({ field: `${at}.code`, message: "Give an example code.", missing: true });
      else if (b.code.trim().length > LIMITS.copyCode) problems.push({ field: `${at}.code`, message: `${LIMITS.copyCode} characters at most.` });
    }
  });
}

// --- the API's problems -----------------------------------------------------------------------------------

export type ServerProblem = { path: string; message: string };

/** The `{path, message}` problems of a 422 `template_invalid`. */
export function serverProblems(error: unknown): ServerProblem[] {
  if (!(error instanceof ApiError)) return [];
  const problems = (error.details as { problems?: unknown } | null)?.problems;
  if (!Array.isArray(problems)) return [];
  return problems.filter((p): p is ServerProblem => typeof p?.path === "string" && typeof p?.message === "string");
}

/** The builder's field a server path is about (`components[1].buttons[0].url` → "button.0.url"), or null. */
export function fieldOfPath(path: string, components: TemplateComponent[]): string | null {
  if (["name", "language", "category"].includes(path)) return path;
  const match = /^components\[(\d+)\](.*)$/.exec(path);
  if (!match) return null;
  const kind = components[Number(match[1])]?.type.toUpperCase();
  const rest = match[2] ?? "";
  const button = /^\.buttons\[(\d+)\]\.?(\w*)/.exec(rest);
  if (kind === "BUTTONS") {
    if (!button) return "buttons";
    const sub = { text: "text", url: "url", example: "", phone_number: "phone" }[button[2] ?? ""] ?? "text";
    const index = Number(button[1]);
    const type = (components[Number(match[1])]?.buttons?.[index]?.type ?? "").toUpperCase();
    return `button.${index}.${sub || (type === "COPY_CODE" ? "code" : "urlExample")}`;
  }
  if (kind === "HEADER") return rest.startsWith(".example.header_handle") ? "header.handle" : rest.startsWith(".example") ? "header.examples" : "header.text";
  if (kind === "BODY") return rest.startsWith(".example") ? "body.examples" : "body.text";
  if (kind === "FOOTER") return rest.startsWith(".code_expiration") ? "codeExpiry" : "footer.text";
  return null;
}
