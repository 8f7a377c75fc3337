import {
  ActionIcon,
  Alert,
  Badge,
  Box,
  Button,
  Chip,
  Grid,
  Group,
  List,
  Menu,
  NumberInput,
  Paper,
  SegmentedControl,
  Select,
  Skeleton,
  Stack,
  Switch,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconBraces, IconPlus, IconSend, IconTrash } from "@tabler/icons-react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState, type FormEvent, type ReactNode } from "react";
import { keys } from "../../api/cache";
import { usePhoneNumbers } from "../../api/hooks";
import { createTemplate, type Template, type TemplateCreate } from "../../api/resources";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { TemplatePreviewCard } from "../inbox/TemplatePicker";
import {
  BUTTON_KINDS,
  CATEGORIES,
  HEADER_KINDS,
  LANGUAGES,
  LIMITS,
  draftComponents,
  emptyDraft,
  exampleFields,
  fieldOfPath,
  newButton,
  nextPlaceholder,
  parameterFormat,
  previewComponents,
  previewValues,
  serverProblems,
  validateDraft,
  type ButtonDraft,
  type ButtonKind,
  type Category,
  type HeaderKind,
  type TemplateDraft,
} from "./builder";

function Section({ title, description, children }: { title: string; description?: string; children: ReactNode }) {
  return (
    <Paper withBorder radius="md" p="md">
      <Stack gap="sm">
        <div>
          <Title order={2} size="h5">
            {title}
          </Title>
          {description && (
            <Text size="xs" c="dimmed">
              {description}
            </Text>
          )}
        </div>
        {children}
      </Stack>
    </Paper>
  );
}

const count = (text: string, limit: number) => `${text.length}/${limit}`;

/** Design a template, see it as the customer will, and submit it to WhatsApp for review. */
export function TemplateBuilder({ onCreated }: { onCreated: (template: Template) => void }) {
  const queryClient = useQueryClient();
  const numbers = usePhoneNumbers();
  const [draft, setDraft] = useState<TemplateDraft>(emptyDraft);
  const [submitted, setSubmitted] = useState(false);
  // The API's problems with the last submission, by field (cleared as the field is edited), and the others.
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [serverOther, setServerOther] = useState<string[]>([]);

  const usable = (numbers.data ?? []).filter((n) => n.status !== "disabled");
  const wabas = new Set(usable.map((n) => n.wabaId));
  // Several WhatsApp Business Accounts: the API needs to know which one the template belongs to.
  const needsNumber = wabas.size > 1;
  const phoneNumberId = draft.phoneNumberId ?? (needsNumber ? null : (usable[0]?.id ?? null));

  const fields = exampleFields(draft);
  const problems = useMemo(() => validateDraft({ ...draft, phoneNumberId }, { needsNumber }), [draft, phoneNumberId, needsNumber]);
  const shown = problems.filter((p) => submitted || !p.missing);
  const errorFor = (field: string): string | undefined => serverErrors[field] ?? shown.find((p) => p.field === field)?.message;
  const auth = draft.category === "AUTHENTICATION";
  const preview = { components: previewComponents(draft) };

  const edit = (field: string | string[], change: (d: TemplateDraft) => TemplateDraft) => {
    setDraft(change);
    const cleared = Array.isArray(field) ? field : [field];
    if (cleared.some((f) => f in serverErrors)) {
      setServerErrors((errors) => Object.fromEntries(Object.entries(errors).filter(([key]) => !cleared.includes(key))));
    }
  };
  const editButton = (index: number, patch: Partial<ButtonDraft>, field: string) =>
    edit(`button.${index}.${field}`, (d) => ({ ...d, buttons: d.buttons.map((b, i) => (i === index ? { ...b, ...patch } : b)) }));

  const create = useMutation({
    meta: { silent: true },
    mutationFn: (body: TemplateCreate) => createTemplate(body),
    onMutate: () => {
      setServerErrors({});
      setServerOther([]);
    },
    onSuccess: (template) => {
      queryClient.setQueryData<Template[]>(keys.templates, (list) => (list ? [template, ...list.filter((t) => t.id !== template.id)] : list));
      void queryClient.invalidateQueries({ queryKey: keys.templates });
      notifications.show({
        color: "teal",
        title: "Template submitted",
        message: `${template.name} is waiting for WhatsApp's review; its status changes here as soon as WhatsApp decides.`,
      });
      onCreated(template);
    },
    onError: (error, body) => {
      const byField: Record<string, string> = {};
      const other: string[] = [];
      for (const problem of serverProblems(error)) {
        const field = fieldOfPath(problem.path, body.components as Template["components"]);
        if (field && !byField[field]) byField[field] = problem.message;
        else other.push(field ? problem.message : `${problem.path}: ${problem.message}`);
      }
      setServerErrors(byField);
      setServerOther(other);
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (problems.length > 0) return;
    create.mutate({
      phoneNumberId,
      name: draft.name,
      language: draft.language,
      category: draft.category,
      parameterFormat: parameterFormat(draft),
      components: draftComponents(draft),
    });
  };

  const invalid = serverProblems(create.error).length > 0;
  const blocking = submitted ? problems : [];

  return (
    <form onSubmit={submit} aria-label="New template" noValidate>
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Stack gap="md">
            <Section title="Template">
              {numbers.isLoading ? (
                <Skeleton height={56} />
              ) : (
                needsNumber && (
                  <Select
                    label="WhatsApp number"
                    description="The template is created in this number's WhatsApp Business Account, for all of its numbers."
                    placeholder="Choose a number"
                    data={usable.map((n) => ({ value: n.id, label: `${n.displayPhoneNumber} · ${n.name || n.verifiedName || n.phoneNumberId}` }))}
                    value={phoneNumberId}
                    onChange={(v) => edit("phoneNumber", (d) => ({ ...d, phoneNumberId: v }))}
                    allowDeselect={false}
                    error={errorFor("phoneNumber")}
                    required
                  />
                )
              )}
              <TextInput
                label="Name"
                description="Lowercase letters, digits and underscores, e.g. order_shipped."
                placeholder="order_shipped"
                value={draft.name}
                onChange={(e) => {
                  const value = e.currentTarget.value;
                  edit("name", (d) => ({ ...d, name: value }));
                }}
                error={errorFor("name")}
                required
                autoComplete="off"
                spellCheck={false}
                ff="monospace"
                data-testid="template-name"
              />
              <Select
                  label="Language"
                  data={LANGUAGES}
                  value={draft.language}
                  onChange={(v) => edit("language", (d) => ({ ...d, language: v ?? "" }))}
                  searchable
                  allowDeselect={false}
                  nothingFoundMessage="No such language"
                  error={errorFor("language")}
                  required
                />
              <Stack gap={4}>
                <Text size="sm" fw={500} id="template-category-label">
                  Category
                </Text>
                <SegmentedControl
                  aria-labelledby="template-category-label"
                  data={CATEGORIES.map((c) => ({ value: c.value, label: c.label }))}
                  value={draft.category}
                  onChange={(v) => edit("category", (d) => ({ ...d, category: v as Category }))}
                  fullWidth
                />
                <Text size="xs" c="dimmed">
                  {CATEGORIES.find((c) => c.value === draft.category)?.description}
                </Text>
                {errorFor("category") && (
                  <Text size="xs" c="red">
                    {errorFor("category")}
                  </Text>
                )}
              </Stack>
            </Section>

            {auth ? (
              <Section title="Verification code" description="WhatsApp writes the message; you choose what it adds.">
                <Switch
                  label="Add a security recommendation"
                  description="“For your security, do not share this code.”"
                  checked={draft.securityRecommendation}
                  onChange={(e) => {
                    const checked = e.currentTarget.checked;
                    edit("security", (d) => ({ ...d, securityRecommendation: checked }));
                  }}
                />
                <NumberInput
                  label="Code expires after (minutes)"
                  description="Shown in the footer; leave empty for no expiry note."
                  min={1}
                  max={90}
                  allowDecimal={false}
                  value={draft.codeExpiryMinutes ?? ""}
                  onChange={(v) => edit("codeExpiry", (d) => ({ ...d, codeExpiryMinutes: typeof v === "number" ? v : null }))}
                  error={errorFor("codeExpiry")}
                  maw={260}
                />
                <TextInput
                  label="Copy code button text"
                  description={count(draft.otpText, LIMITS.buttonText)}
                  value={draft.otpText}
                  onChange={(e) => {
                    const value = e.currentTarget.value;
                    edit("otpText", (d) => ({ ...d, otpText: value }));
                  }}
                  error={errorFor("otpText")}
                />
              </Section>
            ) : (
              <>
                <Section title="Header" description="Optional: a title line, or an image, video or document above the message.">
                  <Chip.Group value={draft.headerKind} onChange={(v) => edit(["header.text", "header.handle"], (d) => ({ ...d, headerKind: v as HeaderKind }))}>
                    <Group gap="xs" wrap="wrap" role="radiogroup" aria-label="Header">
                      {HEADER_KINDS.map((kind) => (
                        <Chip key={kind.value} value={kind.value} type="radio" size="sm">
                          {kind.label}
                        </Chip>
                      ))}
                    </Group>
                  </Chip.Group>
                  {draft.headerKind === "TEXT" && (
                    <TextInput
                      label="Header text"
                      description={`${count(draft.headerText, LIMITS.header)} · one variable {{1}} at most`}
                      value={draft.headerText}
                      onChange={(e) => {
                        const value = e.currentTarget.value;
                        edit("header.text", (d) => ({ ...d, headerText: value }));
                      }}
                      error={errorFor("header.text")}
                      required
                    />
                  )}
                  {draft.headerKind !== "NONE" && draft.headerKind !== "TEXT" && (
                    <TextInput
                      label={`Sample ${draft.headerKind.toLowerCase()} handle`}
                      description="WhatsApp reviews the template with a sample: upload one with Meta's Resumable Upload API and paste the handle it returns (4::…). Each send gives its own file."
                      placeholder="4::aW1hZ2UvanBlZw==:ARZ…"
                      value={draft.headerHandle}
                      onChange={(e) => {
                        const value = e.currentTarget.value;
                        edit("header.handle", (d) => ({ ...d, headerHandle: value }));
                      }}
                      error={errorFor("header.handle")}
                      required
                      spellCheck={false}
                    />
                  )}
                  <ExampleInputs fields={fields.filter((f) => f.section === "header")} draft={draft} edit={edit} errorFor={errorFor} />
                  {serverErrors["header.examples"] && (
                    <Text size="xs" c="red">
                      {serverErrors["header.examples"]}
                    </Text>
                  )}
                </Section>

                <Section title="Body" description="The message. Variables like {{1}}, {{2}} (or named, like {{first_name}}) are filled in for each send.">
                  <Textarea
                    label="Body text"
                    description={count(draft.body, LIMITS.body)}
                    placeholder="Hi {{1}}, your order {{2}} has shipped."
                    value={draft.body}
                    onChange={(e) => {
                      const value = e.currentTarget.value;
                      edit("body.text", (d) => ({ ...d, body: value }));
                    }}
                    error={errorFor("body.text")}
                    autosize
                    minRows={4}
                    maxRows={14}
                    required
                    data-testid="template-body"
                  />
                  <Group gap="xs" wrap="wrap">
                    <Button
                      size="xs"
                      variant="light"
                      leftSection={<IconBraces size={14} />}
                      onClick={() => edit("body.text", (d) => ({ ...d, body: `${d.body}${d.body && !/\s$/.test(d.body) ? " " : ""}${nextPlaceholder(d)}` }))}
                    >
                      Add variable
                    </Button>
                    {fields.length > 0 && (
                      <Badge variant="light" color="gray" size="sm">
                        {parameterFormat(draft) === "NAMED" ? "named variables" : "numbered variables"}
                      </Badge>
                    )}
                  </Group>
                  <ExampleInputs fields={fields.filter((f) => f.section === "body")} draft={draft} edit={edit} errorFor={errorFor} />
                  {serverErrors["body.examples"] && (
                    <Text size="xs" c="red">
                      {serverErrors["body.examples"]}
                    </Text>
                  )}
                </Section>

                <Section title="Footer" description="Optional: a short line in small print, without variables.">
                  <TextInput
                    label="Footer text"
                    description={count(draft.footer, LIMITS.footer)}
                    placeholder="Reply STOP to unsubscribe"
                    value={draft.footer}
                    onChange={(e) => {
                      const value = e.currentTarget.value;
                      edit("footer.text", (d) => ({ ...d, footer: value }));
                    }}
                    error={errorFor("footer.text")}
                  />
                </Section>

                <ButtonsSection draft={draft} edit={edit} editButton={editButton} errorFor={errorFor} />
              </>
            )}
          </Stack>
        </Grid.Col>

        <Grid.Col span={{ base: 12, md: 5 }}>
          <Stack gap="md" style={{ position: "sticky", top: 16 }}>
            <Section title="Preview" description={fields.length ? "With the example values." : undefined}>
              <TemplatePreviewCard template={preview} values={previewValues(draft)} />
            </Section>
            {blocking.length > 0 && (
              <Alert color="orange" variant="light" title="Before submitting" data-testid="template-problems">
                <List size="sm">
                  {blocking.map((p, i) => (
                    <List.Item key={`${p.field}-${i}`}>{p.message}</List.Item>
                  ))}
                </List>
              </Alert>
            )}
            {invalid ? (
              <Alert color="red" variant="light" title="WhatsApp's rules refuse this template" role="alert">
                <Text size="sm">Fix the problems marked on the form.</Text>
                {serverOther.length > 0 && (
                  <List size="sm" mt={4}>
                    {serverOther.map((p) => (
                      <List.Item key={p}>{p}</List.Item>
                    ))}
                  </List>
                )}
              </Alert>
            ) : create.error ? (
              <ApiErrorAlert error={create.error} title="The template was not submitted" />
            ) : null}
            <Button type="submit" size="md" leftSection={<IconSend size={16} />} loading={create.isPending}>
              Submit for review
            </Button>
            <Text size="xs" c="dimmed">
              WhatsApp usually reviews a template within minutes; it shows as pending until then.
            </Text>
          </Stack>
        </Grid.Col>
      </Grid>
    </form>
  );
}

type Edit = (field: string | string[], change: (d: TemplateDraft) => TemplateDraft) => void;

function ExampleInputs({
  fields,
  draft,
  edit,
  errorFor,
}: {
  fields: ReturnType<typeof exampleFields>;
  draft: TemplateDraft;
  edit: Edit;
  errorFor: (field: string) => string | undefined;
}) {
  if (fields.length === 0) return null;
  return (
    <Box className="template-fields" data-testid="template-examples">
      {fields.map((field) => (
        <TextInput
          key={field.key}
          label={field.label}
          size="xs"
          value={draft.examples[field.key] ?? ""}
          onChange={(e) => {
            const value = e.currentTarget.value;
            edit(`example:${field.key}`, (d) => ({ ...d, examples: { ...d.examples, [field.key]: value } }));
          }}
          error={errorFor(`example:${field.key}`)}
          required
        />
      ))}
    </Box>
  );
}

function ButtonsSection({
  draft,
  edit,
  editButton,
  errorFor,
}: {
  draft: TemplateDraft;
  edit: Edit;
  editButton: (index: number, patch: Partial<ButtonDraft>, field: string) => void;
  errorFor: (field: string) => string | undefined;
}) {
  const full = draft.buttons.length >= LIMITS.buttons;
  const add = (kind: ButtonKind) => edit("buttons", (d) => ({ ...d, buttons: [...d.buttons, newButton(kind)] }));
  return (
    <Section title="Buttons" description={`Optional, up to ${LIMITS.buttons}: quick replies, up to 2 website links, 1 phone number and 1 copy code.`}>
      {draft.buttons.map((button, index) => {
        const label = BUTTON_KINDS.find((k) => k.value === button.kind)?.label ?? button.kind;
        const at = `button.${index}`;
        return (
          <Paper key={button.id} withBorder radius="sm" p="sm" data-testid="template-button">
            <Stack gap="xs">
              <Group justify="space-between" wrap="nowrap">
                <Text size="sm" fw={600}>
                  {index + 1}. {label}
                </Text>
                <ActionIcon
                  variant="subtle"
                  color="red"
                  aria-label={`Remove button ${index + 1}`}
                  onClick={() => edit("buttons", (d) => ({ ...d, buttons: d.buttons.filter((b) => b.id !== button.id) }))}
                >
                  <IconTrash size={16} />
                </ActionIcon>
              </Group>
              {button.kind !== "COPY_CODE" && (
                <TextInput
                  label={`Button ${index + 1} text`}
                  description={count(button.text, LIMITS.buttonText)}
                  size="xs"
                  value={button.text}
                  onChange={(e) => editButton(index, { text: e.currentTarget.value }, "text")}
                  error={errorFor(`${at}.text`)}
                  required
                />
              )}
              {button.kind === "URL" && (
                <Group grow align="flex-start" wrap="wrap">
                  <TextInput
                    label="Website address"
                    description="May end with {{1}}, filled in for each send."
                    placeholder="https://shop.example.com/orders/{{1}}"
                    size="xs"
                    value={button.url}
                    onChange={(e) => editButton(index, { url: e.currentTarget.value }, "url")}
                    error={errorFor(`${at}.url`)}
                    required
                    spellCheck={false}
                    miw={220}
                  />
                  {/\{\{/.test(button.url) && (
                    <TextInput
                      label="Example for {{1}}"
                      size="xs"
                      value={button.urlExample}
                      onChange={(e) => editButton(index, { urlExample: e.currentTarget.value }, "urlExample")}
                      error={errorFor(`${at}.urlExample`)}
                      required
                      miw={160}
                    />
                  )}
                </Group>
              )}
              {button.kind === "PHONE_NUMBER" && (
                <TextInput
                  label="Phone number"
                  placeholder="+14155550123"
                  size="xs"
                  type="tel"
                  value={button.phone}
                  onChange={(e) => editButton(index, { phone: e.currentTarget.value }, "phone")}
                  error={errorFor(`${at}.phone`)}
                  required
                />
              )}
              {button.kind === "COPY_CODE" && (
                <TextInput
                  label="Example code"
                  description={`The customer copies the code given with each send; ${LIMITS.copyCode} characters at most.`}
                  placeholder="SPRING25"
                  size="xs"
                  value={button.code}
                  onChange={(e) => editButton(index, { code: e.currentTarget.value }, "code")}
                  error={errorFor(`${at}.code`)}
                  required
                />
              )}
            </Stack>
          </Paper>
        );
      })}
      {errorFor("buttons") && (
        <Text size="xs" c="red" role="alert">
          {errorFor("buttons")}
        </Text>
      )}
      <Menu position="bottom-start" withinPortal>
        <Menu.Target>
          <Button variant="light" size="xs" leftSection={<IconPlus size={14} />} disabled={full} w="fit-content">
            Add button
          </Button>
        </Menu.Target>
        <Menu.Dropdown>
          {BUTTON_KINDS.map((kind) => (
            <Menu.Item key={kind.value} onClick={() => add(kind.value)}>
              {kind.label}
            </Menu.Item>
          ))}
        </Menu.Dropdown>
      </Menu>
    </Section>
  );
}
