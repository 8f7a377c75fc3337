import { Alert, Badge, Box, Group, Paper, Progress, SimpleGrid, Stack, Table, Text, Title, Tooltip } from "@mantine/core";
import { IconClockPause, IconPlayerPause } from "@tabler/icons-react";
import type { CampaignStats, RecipientStatus } from "../../api/resources";
import { dayjs, fullTime } from "../../lib/format";
import {
  PAUSE_TITLE,
  RECIPIENT_STATUS_COLOR,
  RECIPIENT_STATUSES,
  formatPercent,
  formatSeconds,
  fullCounts,
  pauseKind,
  progressOf,
  skipReasonLabel,
} from "./model";

function Figure({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId?: string }) {
  return (
    <Paper withBorder p="sm" radius="md">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="lg" fw={700} mt={2} data-testid={testId}>
        {value}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
    </Paper>
  );
}

/** Why a campaign is paused (by whom or by what Meta said), or why a running one is holding back. */
export function CampaignReasons({ stats }: { stats: Pick<CampaignStats, "status" | "pausedReason" | "pausedCode" | "waitingReason" | "waitingUntil"> }) {
  return (
    <>
      {stats.status === "paused" && (
        <Alert color="orange" variant="light" icon={<IconPlayerPause size={18} />} title={PAUSE_TITLE[pauseKind(stats.pausedCode)]} data-testid="paused-reason">
          {stats.pausedReason ?? "The campaign is paused."} Resume it when the cause is resolved: no recipient is sent twice.
        </Alert>
      )}
      {stats.status === "running" && stats.waitingReason && (
        <Alert color="yellow" variant="light" icon={<IconClockPause size={18} />} title="Holding back" data-testid="waiting-reason">
          {stats.waitingReason}
          {stats.waitingUntil ? ` Sending continues ${dayjs(stats.waitingUntil).fromNow()} (${fullTime(stats.waitingUntil)}).` : ""}
        </Alert>
      )}
    </>
  );
}

const FUNNEL: { key: "sent" | "delivered" | "read" | "replied"; label: string; color: string }[] = [
  { key: "sent", label: "Sent", color: "blue" },
  { key: "delivered", label: "Delivered", color: "indigo" },
  { key: "read", label: "Read", color: "teal" },
  { key: "replied", label: "Replied", color: "green" },
];

const STATE_LABEL: Record<RecipientStatus, string> = {
  queued: "Queued",
  sending: "Sending",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  replied: "Replied",
  failed: "Failed",
  skipped: "Skipped",
};

/** Counts per state, the cumulative funnel with its rates, throughput, estimated completion and failures. */
export function CampaignStatsPanel({ stats }: { stats: CampaignStats }) {
  const { funnel, rates, throughput, eta } = stats;
  const counts = fullCounts(stats.counts);
  const total = counts.total;
  const percentOf = (n: number) => (total ? (n / total) * 100 : 0);
  const progress = progressOf(counts);
  const running = stats.status === "running";
  return (
    <Stack gap="md" data-testid="campaign-stats">
      <CampaignReasons stats={stats} />
      <Paper withBorder radius="md" p="md">
        <Group justify="space-between" mb={6} wrap="wrap">
          <Title order={2} size="h5">
            Progress
          </Title>
          <Text size="sm" c="dimmed" data-testid="campaign-progress">
            {total ? `${total - counts.queued - counts.sending} of ${total} recipients done (${Math.floor(progress)}%)` : "No recipients yet"}
          </Text>
        </Group>
        <Progress.Root size="xl" aria-label="Recipients by state">
          {RECIPIENT_STATUSES.filter((s) => counts[s] > 0).map((state) => (
            <Tooltip key={state} label={`${STATE_LABEL[state]}: ${counts[state]}`}>
              <Progress.Section value={percentOf(counts[state])} color={RECIPIENT_STATUS_COLOR[state]} animated={running && state === "sending"}>
                {percentOf(counts[state]) >= 8 && <Progress.Label>{counts[state]}</Progress.Label>}
              </Progress.Section>
            </Tooltip>
          ))}
        </Progress.Root>
        <SimpleGrid cols={{ base: 2, xs: 4, md: 8 }} mt="md" spacing="xs" aria-label="Recipients per state">
          {RECIPIENT_STATUSES.map((state) => (
            <Box key={state}>
              <Group gap={6} wrap="nowrap">
                <Box w={10} h={10} style={{ borderRadius: 5, background: `var(--mantine-color-${RECIPIENT_STATUS_COLOR[state]}-6)` }} />
                <Text size="xs" c="dimmed">
                  {STATE_LABEL[state]}
                </Text>
              </Group>
              <Text fw={700} data-testid={`state-${state}`}>
                {counts[state]}
              </Text>
            </Box>
          ))}
        </SimpleGrid>
      </Paper>

      <Paper withBorder radius="md" p="md">
        <Title order={2} size="h5" mb="sm">
          Funnel
        </Title>
        <Stack gap={8} aria-label="Funnel">
          <FunnelRow label="Targeted" value={funnel.targeted} of={funnel.targeted} color="gray.5" testId="funnel-targeted" />
          {FUNNEL.map((step) => (
            <FunnelRow key={step.key} label={step.label} value={funnel[step.key]} of={funnel.targeted} color={step.color} testId={`funnel-${step.key}`} />
          ))}
          <FunnelRow label="Failed" value={funnel.failed} of={funnel.targeted} color="red" testId="funnel-failed" />
          <FunnelRow label="Skipped" value={funnel.skipped} of={funnel.targeted} color="yellow" testId="funnel-skipped" />
        </Stack>
      </Paper>

      <SimpleGrid cols={{ base: 2, md: 4 }}>
        <Figure label="Delivery rate" value={formatPercent(rates.delivery)} hint={`${funnel.delivered} of ${funnel.attempted} attempted`} testId="rate-delivery" />
        <Figure label="Read rate" value={formatPercent(rates.read)} hint="of delivered" testId="rate-read" />
        <Figure label="Reply rate" value={formatPercent(rates.reply)} hint="of delivered" testId="rate-reply" />
        <Figure label="Failure rate" value={formatPercent(rates.failure)} hint={`${funnel.failed} failed`} testId="rate-failure" />
        <Figure
          label="Throughput"
          value={`${throughput.lastMinutePerSecond.toFixed(throughput.lastMinutePerSecond >= 10 ? 0 : 1)} msg/s`}
          hint={`last minute · limit ${throughput.configuredPerSecond}/s`}
          testId="throughput"
        />
        <Figure
          label="Estimated completion"
          value={
            stats.status === "completed"
              ? "Done"
              : eta.seconds == null
                ? "—"
                : eta.seconds === 0
                  ? "Finishing"
                  : `in ${formatSeconds(eta.seconds)}`
          }
          hint={
            stats.status === "completed" && stats.completedAt
              ? fullTime(stats.completedAt)
              : eta.at && eta.seconds
                ? `around ${dayjs(eta.at).format("HH:mm")}${eta.limitedBy === "messaging_limit" ? " · held by the messaging limit" : ""}`
                : running
                  ? undefined
                  : "only while running"
          }
          testId="eta"
        />
        <Figure label="Remaining" value={String(eta.remaining)} hint="queued or in flight" testId="remaining" />
        <Figure label="Started" value={stats.startedAt ? dayjs(stats.startedAt).format("D MMM HH:mm") : "—"} hint={stats.startedAt ? dayjs(stats.startedAt).fromNow() : "not yet"} />
      </SimpleGrid>

      {(stats.failuresByCode.length > 0 || stats.skippedByReason.length > 0) && (
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          {stats.failuresByCode.length > 0 && (
            <Paper withBorder radius="md" p="md">
              <Title order={2} size="h5" mb="xs">
                Failures by reason
              </Title>
              <Table aria-label="Failures by reason" verticalSpacing={4}>
                <Table.Tbody>
                  {stats.failuresByCode.map((f) => (
                    <Table.Tr key={`${f.code}-${f.title}`}>
                      <Table.Td>
                        <Text size="sm">{f.title ?? "Unknown error"}</Text>
                        <Text size="xs" c="dimmed">
                          {f.code != null ? `code ${f.code}` : "no code"}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <Badge size="xs" variant="light" color={f.retryable ? "blue" : "gray"}>
                          {f.retryable ? "retryable" : "final"}
                        </Badge>
                      </Table.Td>
                      <Table.Td ta="right" fw={700}>
                        {f.count}
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Paper>
          )}
          {stats.skippedByReason.length > 0 && (
            <Paper withBorder radius="md" p="md">
              <Title order={2} size="h5" mb="xs">
                Skipped
              </Title>
              <Table aria-label="Skipped by reason" verticalSpacing={4}>
                <Table.Tbody>
                  {stats.skippedByReason.map((s) => (
                    <Table.Tr key={s.reason}>
                      <Table.Td>{skipReasonLabel(s.reason)}</Table.Td>
                      <Table.Td ta="right" fw={700}>
                        {s.count}
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Paper>
          )}
        </SimpleGrid>
      )}
      <Text size="xs" c="dimmed">
        Figures as of {dayjs(stats.generatedAt).format("HH:mm:ss")}.
      </Text>
    </Stack>
  );
}

function FunnelRow({ label, value, of, color, testId }: { label: string; value: number; of: number; color: string; testId: string }) {
  const share = of ? (value / of) * 100 : 0;
  return (
    <Group gap="sm" wrap="nowrap">
      <Text size="sm" w={84} style={{ flexShrink: 0 }}>
        {label}
      </Text>
      <Progress value={share} color={color} size="lg" radius="sm" style={{ flex: 1 }} aria-label={`${label}: ${value} of ${of}`} />
      <Text size="sm" fw={700} w={56} ta="right" data-testid={testId} style={{ flexShrink: 0 }}>
        {value}
      </Text>
      <Text size="xs" c="dimmed" w={44} ta="right" style={{ flexShrink: 0 }}>
        {of ? formatPercent(value / of) : ""}
      </Text>
    </Group>
  );
}
