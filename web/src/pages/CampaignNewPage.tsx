import {
  Alert,
  Badge,
  Button,
  Grid,
  Group,
  List,
  MultiSelect,
  NumberInput,
  Paper,
  SegmentedControl,
  Select,
  Skeleton,
  Stack,
  Switch,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { DateTimePicker } from "@mantine/dates";
import { useDebouncedValue } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconArrowLeft, IconUsers } from "@tabler/icons-react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { useMemo, useState, type FormEvent } from "react";
import { keys } from "../api/cache";
import { errorMessage } from "../api/http";
import { usePhoneNumbers, useTemplates } from "../api/hooks";
import {
  campaignAction,
  createCampaign,
  listContactAttributeKeys,
  listContactTags,
  previewAudience,
  previewCampaign,
  uploadCampaignCsv,
  type AudiencePreview,
  type CampaignCreate,
  type ContactAudience,
  type CsvUploadResult,
} from "../api/resources";
import { ApiErrorAlert } from "../components/ApiErrorAlert";
import { TemplatePreviewCard } from "../features/inbox/TemplatePicker";
import { attributeMatches, AttributeFilters, type AttributeFilter } from "../features/campaigns/AttributeFilters";
import { CsvPicker, useCsvHead } from "../features/campaigns/CsvUpload";
import { audienceSummary, broadcastTemplates, incompleteFields, plural, previewValues, sampleValues, skipReasonLabel, toMapping, type SourceDraft } from "../features/campaigns/model";
import { defaultDrafts, draftsForAudience, ParameterMappingEditor } from "../features/campaigns/ParameterMappingEditor";
import { browserZone, timeZones } from "../features/campaigns/zones";
import { dayjs } from "../lib/format";
import { templateFields } from "../lib/templates";
import { Page } from "./Page";

type AudienceKind = "contacts" | "csv";

function Section({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <Paper withBorder radius="md" p="md">
      <Stack gap="sm">
        <Title order={2} size="h5">
          {title}
        </Title>
        {children}
      </Stack>
    </Paper>
  );
}

export function CampaignNewPage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const numbers = usePhoneNumbers();
  const templates = useTemplates();
  const tags = useQuery({ queryKey: keys.contactTags, queryFn: listContactTags, staleTime: 60_000 });
  const attributeKeys = useQuery({ queryKey: keys.contactAttributeKeys, queryFn: listContactAttributeKeys, staleTime: 60_000, meta: { silent: true } });

  const [name, setName] = useState("");
  const [chosenNumber, setNumberId] = useState<string | null>(null);
  const [templateId, setTemplateId] = useState<string | null>(null);
  const [audienceKind, setAudienceKind] = useState<AudienceKind>("contacts");
  const [tagList, setTags] = useState<string[]>([]);
  const [tagMatch, setTagMatch] = useState<"any" | "all">("any");
  const [excludeTags, setExcludeTags] = useState<string[]>([]);
  const [attributeFilters, setAttributeFilters] = useState<AttributeFilter[]>([]);
  const [file, setFile] = useState<File | null>(null);
  const [phoneColumn, setPhoneColumn] = useState<string | null>(null);
  const { head, error: headError } = useCsvHead(audienceKind === "csv" ? file : null);
  const [drafts, setDrafts] = useState<Record<string, SourceDraft> | null>(null);
  const [scheduled, setScheduled] = useState(false);
  const [at, setAt] = useState<string | null>(null);
  const [zone, setZone] = useState(browserZone());
  const [replyWindow, setReplyWindow] = useState<number>(24);
  const [submitted, setSubmitted] = useState(false);

  const usable = (numbers.data ?? []).filter((n) => n.status !== "disabled");
  const numberId = chosenNumber ?? usable.find((n) => n.status === "connected")?.id ?? usable[0]?.id ?? null;
  const number = usable.find((n) => n.id === numberId);
  const approved = useMemo(() => broadcastTemplates(templates.data ?? [], number?.wabaId), [templates.data, number?.wabaId]);
  const template = approved.find((t) => t.id === templateId) ?? null;
  const fields = useMemo(() => (template ? templateFields(template) : []), [template]);
  const csvColumns = audienceKind === "csv" ? (head?.columns.filter((c) => c !== (phoneColumn ?? head.phoneColumn)) ?? []) : null;
  const mappingDrafts = drafts ?? defaultDrafts(fields, csvColumns);
  const mapping = toMapping(fields, mappingDrafts);
  const incomplete = incompleteFields(fields, mappingDrafts);

  const audience: ContactAudience = { source: "contacts", tags: tagList, tagMatch, excludeTags, attributes: attributeMatches(attributeFilters) };
  // The server's preview of a contacts audience: how many it reaches and one real recipient's message.
  const previewBody = numberId && template && audienceKind === "contacts" ? { phoneNumberId: numberId, templateId: template.id, audience, parameterMapping: mapping } : null;
  const [debouncedPreview] = useDebouncedValue(previewBody, 400);
  const preview = useQuery({
    queryKey: [...keys.campaigns, "audience-preview", debouncedPreview] as const,
    queryFn: () => previewAudience(debouncedPreview!),
    enabled: Boolean(debouncedPreview),
    meta: { silent: true },
    retry: false,
    placeholderData: keepPreviousData,
  });
  const sample = audienceKind === "contacts" && preview.data?.sample && template ? sampleValues(fields, preview.data.sample.components) : null;
  const values = previewValues(fields, mappingDrafts, audienceKind === "csv" ? (head?.firstRow ?? null) : null, sample);

  const create = useMutation({
    meta: { silent: true },
    mutationFn: async () => {
      const body: CampaignCreate = {
        name: name.trim(),
        phoneNumberId: numberId ?? "",
        templateId: template?.id ?? "",
        audience: audienceKind === "csv" ? { source: "csv" } : audience,
        parameterMapping: mapping,
        replyWindowHours: replyWindow,
        scheduledAt: scheduled && at ? at.replace(" ", "T") : null,
        timezone: scheduled ? zone : null,
      };
      const campaign = await createCampaign(body);
      // The draft exists from here on: what fails next is reported on its page, never by creating it twice.
      let upload: CsvUploadResult | null = null;
      let audiencePreview: AudiencePreview | null = null;
      const problems: string[] = [];
      if (audienceKind === "csv" && file) {
        try {
          upload = await uploadCampaignCsv(campaign.id, file, phoneColumn ?? head?.phoneColumn);
        } catch (error) {
          problems.push(`The CSV upload failed: ${errorMessage(error)}`);
        }
      }
      if (upload) {
        // The server's reading of the whole file (the form only saw its head); the campaign page shows it too.
        audiencePreview = await previewCampaign(campaign.id).catch(() => null);
        if (audiencePreview) queryClient.setQueryData(keys.campaignPreview(campaign.id), audiencePreview);
      }
      if (scheduled && problems.length === 0) {
        try {
          await campaignAction(campaign.id, "schedule");
        } catch (error) {
          problems.push(`It could not be scheduled: ${errorMessage(error)}`);
        }
      }
      return { campaign, upload, audiencePreview, problems };
    },
    onSuccess: ({ campaign, upload, audiencePreview, problems }) => {
      void queryClient.invalidateQueries({ queryKey: [...keys.campaigns, "list"] });
      if (problems.length) {
        notifications.show({ color: "orange", title: "Saved as a draft", message: problems.join(" "), autoClose: 12000 });
      } else if (upload) {
        const fits = upload.mappingProblems.length === 0 && (!audiencePreview || audiencePreview.eligible === audiencePreview.total);
        notifications.show({
          color: fits ? "teal" : "orange",
          title: scheduled ? "Campaign created and scheduled" : "Campaign created as a draft",
          message: `${audiencePreview ? audienceSummary(audiencePreview) : `${plural(upload.recipients, "recipient", true)} stored.`}${upload.mappingProblems.length ? ` ${upload.mappingProblems.join("; ")}.` : ""}`,
          autoClose: fits ? undefined : 12000,
        });
      } else {
        notifications.show({ color: "teal", message: scheduled ? "Campaign created and scheduled." : "Campaign created as a draft." });
      }
      void navigate({ to: "/campaigns/$campaignId", params: { campaignId: campaign.id } });
    },
  });

  const problems: string[] = [];
  if (!name.trim()) problems.push("Name the campaign.");
  if (!numberId) problems.push("Choose the phone number.");
  if (!template) problems.push("Choose an approved template.");
  if (incomplete.length) problems.push(`Give a value source for ${incomplete.map((f) => f.label).join(", ")}.`);
  if (audienceKind === "csv" && (!file || !head || headError)) problems.push("Choose the CSV file.");
  if (scheduled && !at) problems.push("Pick when the campaign starts.");

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (problems.length === 0) create.mutate();
  };

  const changeAudience = (kind: AudienceKind) => {
    setAudienceKind(kind);
    if (drafts) setDrafts(draftsForAudience(drafts, kind === "csv" ? (head?.columns ?? []) : null));
  };

  return (
    <Page
      title="New campaign"
      description="Send an approved template to many contacts. It is saved as a draft: start or schedule it when ready."
      actions={
        <Button component={Link} to="/campaigns" variant="subtle" leftSection={<IconArrowLeft size={16} />}>
          Campaigns
        </Button>
      }
    >
      <form onSubmit={submit} aria-label="New campaign">
        <Grid gap="lg">
          <Grid.Col span={{ base: 12, md: 7 }}>
            <Stack gap="md">
              <Section title="Campaign">
                <TextInput label="Name" placeholder="e.g. Spring sale reminder" value={name} onChange={(e) => setName(e.currentTarget.value)} required maxLength={200} />
                {numbers.isLoading ? (
                  <Skeleton height={56} />
                ) : (
                  <Select
                    label="Phone number"
                    description="Messages go out from this number, within its messages-per-second and messaging tier."
                    data={usable.map((n) => ({
                      value: n.id,
                      label: `${n.displayPhoneNumber} · ${n.name || n.verifiedName || n.phoneNumberId}${n.status !== "connected" ? ` (${n.status.replace("_", " ")})` : ""}`,
                    }))}
                    value={numberId}
                    onChange={(v) => {
                      setNumberId(v);
                      setTemplateId(null);
                      setDrafts(null);
                    }}
                    allowDeselect={false}
                    nothingFoundMessage="No number"
                    required
                  />
                )}
                {templates.unavailable ? (
                  <Alert color="gray" variant="light">
                    {templates.unavailable}
                  </Alert>
                ) : (
                  <Select
                    label="Template"
                    description="Approved templates of the number's WhatsApp Business Account."
                    placeholder={templates.isLoading ? "Loading templates…" : approved.length ? "Choose an approved template" : "No approved template for this number"}
                    data={approved.map((t) => ({ value: t.id, label: `${t.name} · ${t.language} · ${t.category.toLowerCase()}` }))}
                    value={templateId}
                    onChange={(v) => {
                      setTemplateId(v);
                      setDrafts(null);
                    }}
                    searchable
                    disabled={templates.isLoading || approved.length === 0}
                    required
                    data-testid="campaign-template"
                  />
                )}
              </Section>

              <Section title="Audience">
                <SegmentedControl
                  aria-label="Audience"
                  data={[
                    { value: "contacts", label: "Contacts by tags" },
                    { value: "csv", label: "CSV upload" },
                  ]}
                  value={audienceKind}
                  onChange={(v) => changeAudience(v as AudienceKind)}
                />
                {audienceKind === "contacts" ? (
                  <Stack gap="xs">
                    <MultiSelect
                      label="Tags"
                      description="Contacts with these tags; none chosen means every contact. Opted-out and blocked contacts are always skipped."
                      placeholder={tagList.length ? undefined : "Every contact"}
                      data={(tags.data ?? []).map((t) => ({ value: t.tag, label: `${t.tag} (${t.count})` }))}
                      value={tagList}
                      onChange={setTags}
                      searchable
                      clearable
                      nothingFoundMessage={tags.isLoading ? "Loading tags…" : "No tag"}
                      data-testid="campaign-tags"
                    />
                    {tagList.length > 1 && (
                      <SegmentedControl
                        size="xs"
                        aria-label="Tag match"
                        data={[
                          { value: "any", label: "Any of these tags" },
                          { value: "all", label: "All of these tags" },
                        ]}
                        value={tagMatch}
                        onChange={(v) => setTagMatch(v as "any" | "all")}
                      />
                    )}
                    <MultiSelect
                      label="Leave out contacts tagged"
                      data={(tags.data ?? []).map((t) => ({ value: t.tag, label: `${t.tag} (${t.count})` }))}
                      value={excludeTags}
                      onChange={setExcludeTags}
                      searchable
                      clearable
                    />
                    <AttributeFilters filters={attributeFilters} onChange={setAttributeFilters} keys={attributeKeys.data ?? []} />
                    <AudienceSummary loading={preview.isFetching} error={preview.error} data={preview.data} ready={Boolean(previewBody)} />
                  </Stack>
                ) : (
                  <CsvPicker
                    file={file}
                    onFile={(f) => {
                      setFile(f);
                      setPhoneColumn(null);
                      setDrafts(null);
                    }}
                    head={head}
                    headError={headError}
                    phoneColumn={phoneColumn}
                    onPhoneColumn={setPhoneColumn}
                  />
                )}
              </Section>

              {template && (
                <Section title="Placeholders">
                  <ParameterMappingEditor fields={fields} drafts={mappingDrafts} onChange={setDrafts} csvColumns={csvColumns} attributeKeys={attributeKeys.data?.map((k) => k.key)} showErrors={submitted} />
                </Section>
              )}

              <Section title="When">
                <Switch label="Schedule for later" description="Otherwise it stays a draft until you start it." checked={scheduled} onChange={(e) => setScheduled(e.currentTarget.checked)} />
                {scheduled && (
                  <Group grow align="flex-start" wrap="wrap">
                    <DateTimePicker
                      label="Start at"
                      placeholder="Pick a date and time"
                      value={at}
                      onChange={setAt}
                      valueFormat="D MMM YYYY HH:mm"
                      minDate={dayjs().format("YYYY-MM-DD")}
                      required
                      clearable
                      miw={220}
                    />
                    <Select label="Time zone" description="The time is read in this zone." data={timeZones()} value={zone} onChange={(z) => setZone(z ?? browserZone())} searchable allowDeselect={false} miw={220} />
                  </Group>
                )}
                <NumberInput
                  label="Reply window (hours)"
                  description="A customer message within this time after the campaign message counts as a reply."
                  min={1}
                  max={720}
                  value={replyWindow}
                  onChange={(v) => setReplyWindow(Number(v) || 24)}
                  w={260}
                />
              </Section>
            </Stack>
          </Grid.Col>

          <Grid.Col span={{ base: 12, md: 5 }}>
            <Stack gap="md" style={{ position: "sticky", top: 16 }}>
              <Section title="Preview">
                {template ? (
                  <>
                    <TemplatePreviewCard template={template} values={values} />
                    <Text size="xs" c="dimmed">
                      {audienceKind === "csv"
                        ? head?.firstRow
                          ? "CSV values from the file's first row; every row is checked when the campaign is saved."
                          : "Choose the file to see its first row's values."
                        : preview.data?.sample
                          ? `Contact values for ${preview.data.sample.contact.name}, one of the recipients.`
                          : "Contact values appear for one of the recipients once the audience has one."}
                    </Text>
                    {preview.data?.sample && preview.data.sample.problems.length > 0 && audienceKind === "contacts" && (
                      <Alert color="orange" variant="light" title={`For ${preview.data.sample.contact.name}`}>
                        <List size="sm">
                          {preview.data.sample.problems.map((p) => (
                            <List.Item key={p}>{p}</List.Item>
                          ))}
                        </List>
                      </Alert>
                    )}
                  </>
                ) : (
                  <Text size="sm" c="dimmed">
                    Choose a template to see the message.
                  </Text>
                )}
              </Section>
              {submitted && problems.length > 0 && (
                <Alert color="orange" variant="light" title="Before saving">
                  <List size="sm">
                    {problems.map((p) => (
                      <List.Item key={p}>{p}</List.Item>
                    ))}
                  </List>
                </Alert>
              )}
              {create.error ? <ApiErrorAlert error={create.error} title="The campaign was not created" /> : null}
              <Button type="submit" size="md" loading={create.isPending}>
                {scheduled ? "Create and schedule" : "Create campaign"}
              </Button>
            </Stack>
          </Grid.Col>
        </Grid>
      </form>
    </Page>
  );
}

function AudienceSummary({
  loading,
  error,
  data,
  ready,
}: {
  loading: boolean;
  error: unknown;
  data: AudiencePreview | undefined;
  ready: boolean;
}) {
  if (!ready) {
    return (
      <Text size="sm" c="dimmed">
        Choose the number and template to see how many contacts this reaches.
      </Text>
    );
  }
  if (error) return <ApiErrorAlert error={error} title="The audience could not be previewed" />;
  if (!data) return <Skeleton height={40} />;
  return (
    <Paper withBorder radius="md" p="sm" bg="var(--mantine-color-default-hover)" aria-live="polite" data-testid="audience-summary" opacity={loading ? 0.6 : 1}>
      <Group gap="sm" wrap="wrap">
        <IconUsers size={18} />
        <Text size="sm">
          <b data-testid="audience-eligible">{data.eligible}</b> of {data.total} matching contact{data.total === 1 ? "" : "s"} will receive it
        </Text>
        {data.skipped.map((s) => (
          <Badge key={s.reason} size="sm" variant="light" color="yellow">
            {s.count} {skipReasonLabel(s.reason).toLowerCase()}
          </Badge>
        ))}
      </Group>
      {data.mappingProblems.length > 0 && (
        <List size="xs" c="orange" mt={4}>
          {data.mappingProblems.map((p) => (
            <List.Item key={p}>{p}</List.Item>
          ))}
        </List>
      )}
    </Paper>
  );
}
