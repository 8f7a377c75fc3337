import { Alert, Button, Center, Group, Paper, Progress, Select, Skeleton, Stack, Table, Text, Tooltip } from "@mantine/core";
import { IconPlus, IconSpeakerphone } from "@tabler/icons-react";
import { useInfiniteQuery } from "@tanstack/react-query";
import { Link, useNavigate, useSearch } from "@tanstack/react-router";
import { keys } from "../api/cache";
import { listCampaigns, type CampaignOut, type CampaignStatus } from "../api/resources";
import { CampaignStatusBadge } from "../features/campaigns/CampaignStatusBadge";
import { CAMPAIGN_STATUSES, fullCounts, progressOf } from "../features/campaigns/model";
import { inZone } from "../features/campaigns/zones";
import { dayjs, fullTime } from "../lib/format";
import { Page } from "./Page";

function When({ campaign }: { campaign: CampaignOut }) {
  if (campaign.status === "scheduled" && campaign.scheduledAt) {
    return (
      <>
        <Text size="sm">Starts {dayjs(campaign.scheduledAt).fromNow()}</Text>
        <Text size="xs" c="dimmed">
          {inZone(campaign.scheduledAt, campaign.timezone)}
        </Text>
      </>
    );
  }
  const [label, at] = campaign.completedAt
    ? ["Completed", campaign.completedAt]
    : campaign.startedAt
      ? ["Started", campaign.startedAt]
      : ["Created", campaign.createdAt];
  return (
    <Tooltip label={fullTime(at)}>
      <div>
        <Text size="sm">
          {label} {dayjs(at).fromNow()}
        </Text>
        {campaign.scheduledAt && campaign.status === "draft" && (
          <Text size="xs" c="dimmed">
            Planned for {inZone(campaign.scheduledAt, campaign.timezone)}
          </Text>
        )}
      </div>
    </Tooltip>
  );
}

function CampaignProgress({ campaign }: { campaign: CampaignOut }) {
  const counts = fullCounts(campaign.counts);
  if (!counts.total) {
    return (
      <Text size="xs" c="dimmed">
        {campaign.status === "draft" || campaign.status === "scheduled" ? "Audience resolved at start" : "No recipients"}
      </Text>
    );
  }
  const sent = counts.sent + counts.delivered + counts.read + counts.replied;
  return (
    <Stack gap={4} miw={160}>
      <Progress.Root size="md" aria-label={`${sent} of ${counts.total} sent`}>
        <Progress.Section value={(sent / counts.total) * 100} color="teal" />
        <Progress.Section value={(counts.failed / counts.total) * 100} color="red" />
        <Progress.Section value={(counts.skipped / counts.total) * 100} color="yellow" />
      </Progress.Root>
      <Text size="xs" c="dimmed">
        {sent} sent · {counts.delivered + counts.read + counts.replied} delivered · {counts.failed} failed · {counts.total} total ({Math.floor(progressOf(counts))}%)
      </Text>
    </Stack>
  );
}

export function CampaignsPage() {
  const search = useSearch({ from: "/app/campaigns" });
  const navigate = useNavigate();
  const status = search.status;
  const campaigns = useInfiniteQuery({
    queryKey: keys.campaignList(status),
    queryFn: ({ pageParam }) => listCampaigns(status, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    meta: { silent: true },
    // Live events keep running campaigns current; this is the fallback when the stream is down.
    refetchInterval: (query) =>
      query.state.data?.pages.some((p) => p.items.some((c) => c.status === "running" || c.status === "scheduled")) ? 15_000 : false,
  });
  const items = campaigns.data?.pages.flatMap((p) => p.items) ?? [];
  const open = (id: string) => void navigate({ to: "/campaigns/$campaignId", params: { campaignId: id } });

  return (
    <Page
      title="Campaigns"
      description="Approved templates sent to many contacts at once, paced within the number's limits."
      actions={
        <Button component={Link} to="/campaigns/new" leftSection={<IconPlus size={16} />}>
          New campaign
        </Button>
      }
    >
      <Group>
        <Select
          label="Status"
          placeholder="Every status"
          data={CAMPAIGN_STATUSES.map((s) => ({ value: s, label: s[0]?.toUpperCase() + s.slice(1) }))}
          value={status ?? null}
          onChange={(v) => void navigate({ to: "/campaigns", search: { status: (v as CampaignStatus | null) ?? undefined } })}
          clearable
          w={200}
        />
      </Group>
      {campaigns.isError ? (
        <Alert color="red" variant="light">
          {campaigns.error.message}
        </Alert>
      ) : (
        <Paper withBorder radius="md">
          <Table.ScrollContainer minWidth={900}>
            <Table highlightOnHover verticalSpacing="sm" aria-label="Campaigns">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Number</Table.Th>
                  <Table.Th>Template</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Progress</Table.Th>
                  <Table.Th>When</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {campaigns.isLoading &&
                  Array.from({ length: 3 }, (_, i) => (
                    <Table.Tr key={i}>
                      {Array.from({ length: 6 }, (__, j) => (
                        <Table.Td key={j}>
                          <Skeleton height={14} />
                        </Table.Td>
                      ))}
                    </Table.Tr>
                  ))}
                {items.map((campaign) => (
                  <Table.Tr
                    key={campaign.id}
                    style={{ cursor: "pointer" }}
                    onClick={() => open(campaign.id)}
                    data-testid="campaign-row"
                  >
                    <Table.Td>
                      <Link
                        to="/campaigns/$campaignId"
                        params={{ campaignId: campaign.id }}
                        onClick={(e) => e.stopPropagation()}
                        style={{ fontWeight: 600, fontSize: "var(--mantine-font-size-sm)", color: "var(--mantine-color-anchor)", textDecoration: "none" }}
                      >
                        {campaign.name}
                      </Link>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{campaign.phoneNumber.displayPhoneNumber}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {campaign.template.name}
                      </Text>
                      <Text size="xs" c="dimmed">
                        {campaign.template.language} · {campaign.template.category.toLowerCase()}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <CampaignStatusBadge campaign={campaign} />
                    </Table.Td>
                    <Table.Td>
                      <CampaignProgress campaign={campaign} />
                    </Table.Td>
                    <Table.Td>
                      <When campaign={campaign} />
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {campaigns.isSuccess && items.length === 0 && (
            <Center p="xl">
              <Stack align="center" gap="xs">
                <IconSpeakerphone size={32} stroke={1.4} color="var(--mantine-color-dimmed)" />
                <Text c="dimmed">{status ? `No ${status} campaign.` : "No campaigns yet."}</Text>
                {!status && (
                  <Button component={Link} to="/campaigns/new" variant="light" size="xs">
                    Create the first one
                  </Button>
                )}
              </Stack>
            </Center>
          )}
          {campaigns.hasNextPage && (
            <Center p="sm">
              <Button variant="subtle" onClick={() => void campaigns.fetchNextPage()} loading={campaigns.isFetchingNextPage}>
                Load more
              </Button>
            </Center>
          )}
        </Paper>
      )}
    </Page>
  );
}
