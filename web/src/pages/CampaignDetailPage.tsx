import { Alert, Badge, Button, Group, List, Paper, SimpleGrid, Skeleton, Stack, Text, Title } from "@mantine/core";
import { IconArrowLeft, IconUsers } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "@tanstack/react-router";
import { applyCampaignStats, keys } from "../api/cache";
import { ApiError } from "../api/http";
import { campaignStats, getCampaign, previewCampaign, type CampaignOut, type CampaignStats, type ParameterSource } from "../api/resources";
import { ApiErrorAlert } from "../components/ApiErrorAlert";
import { CampaignActions } from "../features/campaigns/CampaignActions";
import { CampaignReasons, CampaignStatsPanel } from "../features/campaigns/CampaignStatsPanel";
import { CampaignStatusBadge } from "../features/campaigns/CampaignStatusBadge";
import { CsvUploadCard } from "../features/campaigns/CsvUpload";
import { isDraft, isLive, skipReasonLabel } from "../features/campaigns/model";
import { RecipientsTable } from "../features/campaigns/RecipientsTable";
import { inZone } from "../features/campaigns/zones";
import { dayjs, fullTime } from "../lib/format";
import { Page } from "./Page";

function describeSource(source: ParameterSource): string {
  const fallback = source.fallback ? ` (else “${source.fallback}”)` : "";
  if (source.source === "contact") return `contact's ${source.field}${fallback}`;
  if (source.source === "csv") return `CSV column “${source.column}”${fallback}`;
  return `“${source.value}”`;
}

/** The stored mapping as lines: "Body {{1}} ← contact's firstName". */
function mappingLines(mapping: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const section = (label: string, entries: unknown) => {
    for (const [name, source] of Object.entries((entries ?? {}) as Record<string, ParameterSource>)) {
      lines.push(`${label} {{${name}}} ← ${describeSource(source)}`);
    }
  };
  section("Header", mapping.header);
  section("Body", mapping.body);
  for (const [index, entries] of Object.entries((mapping.buttons ?? {}) as Record<string, unknown>)) section(`Button ${Number(index) + 1}`, entries);
  if (mapping.headerMedia) lines.push(`Header media ← ${describeSource(mapping.headerMedia as ParameterSource)}`);
  return lines;
}

function audienceText(campaign: CampaignOut): string {
  const audience = campaign.audience as { source?: string; tags?: string[]; tagMatch?: string; excludeTags?: string[]; attributes?: Record<string, string> };
  if (audience.source === "csv") return "Numbers uploaded as CSV";
  const parts: string[] = [];
  if (audience.tags?.length) parts.push(`contacts tagged ${audience.tags.join(audience.tagMatch === "all" ? " and " : " or ")}`);
  else parts.push("every contact");
  if (audience.excludeTags?.length) parts.push(`except those tagged ${audience.excludeTags.join(", ")}`);
  const attributes = Object.entries(audience.attributes ?? {});
  if (attributes.length) parts.push(`with ${attributes.map(([k, v]) => `${k} = ${v}`).join(", ")}`);
  const text = parts.join(", ");
  return text[0]?.toUpperCase() + text.slice(1);
}

function Detail({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="sm" component="div">
        {children}
      </Text>
    </div>
  );
}

function AudiencePreviewCard({ campaignId }: { campaignId: string }) {
  const preview = useQuery({
    queryKey: keys.campaignPreview(campaignId),
    queryFn: () => previewCampaign(campaignId),
    meta: { silent: true },
    retry: false,
  });
  return (
    <Paper withBorder radius="md" p="md">
      <Stack gap="sm">
        <Title order={2} size="h5">
          Before sending
        </Title>
        {preview.isLoading && <Skeleton height={60} />}
        {preview.error ? <ApiErrorAlert error={preview.error} /> : null}
        {preview.data && (
          <>
            <Group gap="sm" wrap="wrap">
              <IconUsers size={18} />
              <Text size="sm">
                <b data-testid="preview-eligible">{preview.data.eligible}</b> of {preview.data.total} recipient{preview.data.total === 1 ? "" : "s"} will receive it
              </Text>
              {preview.data.skipped.map((s) => (
                <Badge key={s.reason} size="sm" variant="light" color="yellow">
                  {s.count} {skipReasonLabel(s.reason).toLowerCase()}
                </Badge>
              ))}
            </Group>
            {preview.data.mappingProblems.length > 0 && (
              <Alert color="orange" variant="light" title="The parameter mapping does not fit the template">
                <List size="sm">
                  {preview.data.mappingProblems.map((p) => (
                    <List.Item key={p}>{p}</List.Item>
                  ))}
                </List>
              </Alert>
            )}
            {preview.data.sample ? (
              <Stack gap={4}>
                <Text size="xs" c="dimmed">
                  The message for {preview.data.sample.contact.name}:
                </Text>
                <Paper withBorder radius="md" p="sm" className="template-preview" data-testid="campaign-sample">
                  <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>
                    {preview.data.sample.rendered}
                  </Text>
                </Paper>
                {preview.data.sample.problems.length > 0 && (
                  <List size="xs" c="orange">
                    {preview.data.sample.problems.map((p) => (
                      <List.Item key={p}>{p}</List.Item>
                    ))}
                  </List>
                )}
              </Stack>
            ) : (
              <Text size="sm" c="dimmed">
                Nobody in the audience yet.
              </Text>
            )}
          </>
        )}
      </Stack>
    </Paper>
  );
}

export function CampaignDetailPage() {
  const { campaignId } = useParams({ from: "/app/campaigns/$campaignId" });
  const queryClient = useQueryClient();
  const campaign = useQuery({
    queryKey: keys.campaign(campaignId),
    queryFn: () => getCampaign(campaignId),
    meta: { silent: true },
    retry: false,
  });
  const status = campaign.data?.status;
  const stats = useQuery({
    queryKey: keys.campaignStats(campaignId),
    queryFn: async () => {
      const fresh = await campaignStats(campaignId);
      applyCampaignStats(queryClient, fresh);
      return queryClient.getQueryData<CampaignStats>(keys.campaignStats(campaignId)) ?? fresh;
    },
    enabled: campaign.isSuccess,
    meta: { silent: true },
    // Live `campaign.updated` events reset this timer: polling only happens when the stream is quiet or down.
    refetchInterval: status && isLive(status) ? (status === "running" ? 5_000 : 30_000) : false,
  });

  if (campaign.isError) {
    const missing = campaign.error instanceof ApiError && campaign.error.status === 404;
    return (
      <Page title="Campaign">
        <Alert color={missing ? "gray" : "red"} variant="light" title={missing ? "Campaign not found" : undefined}>
          {missing ? "It may have been a draft that was deleted." : campaign.error.message}
        </Alert>
        <Button component={Link} to="/campaigns" variant="subtle" leftSection={<IconArrowLeft size={16} />} w="fit-content">
          All campaigns
        </Button>
      </Page>
    );
  }
  const c = campaign.data;
  if (!c) {
    return (
      <Page title="Campaign">
        <Skeleton height={40} />
        <Skeleton height={160} />
        <Skeleton height={240} />
      </Page>
    );
  }
  const csvDraft = isDraft(c.status) && (c.audience as { source?: string }).source === "csv";
  const mapping = mappingLines(c.parameterMapping);
  return (
    <Page
      title={c.name}
      description={`${c.template.name} (${c.template.language}) from ${c.phoneNumber.displayPhoneNumber}`}
      actions={
        <Group gap="sm">
          <CampaignStatusBadge campaign={c} />
          <Button component={Link} to="/campaigns" variant="subtle" size="xs" leftSection={<IconArrowLeft size={14} />}>
            All campaigns
          </Button>
        </Group>
      }
    >
      <CampaignActions campaign={c} stats={stats.data} />
      {!stats.data && <CampaignReasons stats={c} />}

      <Paper withBorder radius="md" p="md">
        <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }} spacing="md">
          <Detail label="Audience">{audienceText(c)}</Detail>
          <Detail label="Number">
            {c.phoneNumber.displayPhoneNumber}
            <Text size="xs" c="dimmed">
              {c.phoneNumber.messagesPerSecond}/s · {c.phoneNumber.messagingLimitTier ?? "no tier"} · quality {c.phoneNumber.qualityRating.toLowerCase()}
            </Text>
          </Detail>
          <Detail label={c.status === "scheduled" ? "Starts" : "Schedule"}>
            {c.scheduledAt ? (
              <>
                {inZone(c.scheduledAt, c.timezone)}
                <Text size="xs" c="dimmed">
                  {dayjs(c.scheduledAt).fromNow()}
                </Text>
              </>
            ) : (
              "Not scheduled"
            )}
          </Detail>
          <Detail label="Created">
            {fullTime(c.createdAt)}
            <Text size="xs" c="dimmed">
              replies counted for {c.replyWindowHours} h
            </Text>
          </Detail>
        </SimpleGrid>
        {mapping.length > 0 && (
          <Stack gap={2} mt="md">
            <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
              Placeholders
            </Text>
            {mapping.map((line) => (
              <Text key={line} size="sm" ff="monospace">
                {line}
              </Text>
            ))}
          </Stack>
        )}
      </Paper>

      {csvDraft && <CsvUploadCard campaignId={c.id} upload={((c.audience as { upload?: Record<string, unknown> }).upload ?? null)} />}
      {(isDraft(c.status) || c.status === "scheduled") && <AudiencePreviewCard campaignId={c.id} />}

      {stats.data ? (
        <CampaignStatsPanel stats={stats.data} />
      ) : stats.isError ? (
        <ApiErrorAlert error={stats.error} title="The figures could not be loaded" />
      ) : (
        <Skeleton height={220} radius="md" />
      )}
      <RecipientsTable campaignId={c.id} />
    </Page>
  );
}
