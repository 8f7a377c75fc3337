import { BarChart, DonutChart } from "@mantine/charts";
import { Alert, Group, Paper, SimpleGrid, Skeleton, Stack, Table, Text, Title } from "@mantine/core";
import { DatePickerInput, type DatesRangeValue } from "@mantine/dates";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { keys } from "../api/cache";
import { ApiError } from "../api/http";
import { analyticsOverview, conversationStats } from "../api/resources";
import { formatDuration, percent } from "../lib/analytics";
import { dayjs } from "../lib/format";
import { Page } from "./Page";

const STATUS_COLORS: Record<string, string> = { open: "teal.6", pending: "yellow.6", resolved: "gray.5", archived: "dark.4" };

function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <Paper withBorder p="md" radius="md">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="xl" fw={700} mt={4}>
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

export function AnalyticsPage() {
  const [range, setRange] = useState<DatesRangeValue<string>>([
    dayjs().subtract(6, "day").format("YYYY-MM-DD"),
    dayjs().format("YYYY-MM-DD"),
  ]);
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [from, to] = range;
  const stats = useQuery({ queryKey: keys.stats, queryFn: conversationStats });
  const overview = useQuery({
    queryKey: ["analytics", from, to, tz],
    queryFn: () => analyticsOverview(from ?? "", to ?? "", tz),
    enabled: Boolean(from && to),
    meta: { silent: true },
    retry: false,
  });
  const missingApi = overview.error instanceof ApiError && overview.error.status === 404;
  const data = overview.data;
  const statusData = data?.conversationsByStatus.length
    ? data.conversationsByStatus
    : stats.data
      ? (["open", "pending", "resolved", "archived"] as const).map((status) => ({ status, count: stats.data[status] }))
      : [];

  return (
    <Page
      title="Analytics"
      description={`Figures for your company, in your time zone (${tz}).`}
      actions={
        <DatePickerInput
          type="range"
          aria-label="Date range"
          value={range}
          onChange={setRange}
          maxDate={dayjs().format("YYYY-MM-DD")}
          w={260}
          valueFormat="D MMM YYYY"
        />
      }
    >
      {missingApi && (
        <Alert color="gray" variant="light" title="Detailed analytics are not available on this server">
          Message volume, delivery and read rates, response times and the per-agent table come from the analytics API,
          which this server does not offer. Conversations by status below are live.
        </Alert>
      )}
      {overview.isError && !missingApi && (
        <Alert color="red" variant="light">
          {overview.error.message}
        </Alert>
      )}
      {(overview.isLoading || data) && (
        <SimpleGrid cols={{ base: 2, md: 4 }}>
          {overview.isLoading ? (
            Array.from({ length: 8 }, (_, i) => <Skeleton key={i} height={86} radius="md" />)
          ) : data ? (
            <>
              <Stat label="Delivered" value={percent(data.deliveryRate)} hint={`failed ${percent(data.failureRate)} · ${data.outbound} sent`} />
              <Stat label="Read" value={percent(data.readRate)} hint="of delivered messages" />
              <Stat label="First response (median)" value={formatDuration(data.firstResponse.median)} hint={`${data.firstResponse.count} conversations`} />
              <Stat label="First response (90th pct.)" value={formatDuration(data.firstResponse.p90)} hint="9 in 10 answered within" />
              <Stat label="Resolution (median)" value={formatDuration(data.resolution.median)} hint={`90th pct. ${formatDuration(data.resolution.p90)}`} />
              <Stat label="Reply time (median)" value={formatDuration(data.reply.median)} hint={`90th pct. ${formatDuration(data.reply.p90)}`} />
              <Stat label="Unanswered now" value={String(data.unanswered.count)} hint={data.unanswered.oldestWaitingSince ? `oldest waiting since ${dayjs(data.unanswered.oldestWaitingSince).format("D MMM HH:mm")}` : "nobody waiting"} />
              <Stat label="Messages" value={`${data.inbound} in · ${data.outbound} out`} />
            </>
          ) : null}
        </SimpleGrid>
      )}
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        {data && (
          <Paper withBorder p="md" radius="md" style={{ gridColumn: "span 2" }}>
            <Title order={3} size="h5" mb="sm">
              Messages per day
            </Title>
            {data.volume.length ? (
              <BarChart
                h={260}
                data={data.volume.map((p) => ({ ...p, day: dayjs(p.date).format("D MMM") }))}
                dataKey="day"
                series={[
                  { name: "inbound", label: "Received", color: "blue.6" },
                  { name: "outbound", label: "Sent", color: "teal.6" },
                ]}
                withLegend
                tickLine="y"
              />
            ) : (
              <Text c="dimmed" size="sm">
                No messages in this period.
              </Text>
            )}
          </Paper>
        )}
        <Paper withBorder p="md" radius="md">
          <Title order={3} size="h5" mb="sm">
            Conversations by status
          </Title>
          {stats.isLoading ? (
            <Skeleton height={200} circle mx="auto" />
          ) : (
            <Stack align="center">
              <DonutChart
                data={statusData.map((d) => ({ name: d.status, value: d.count, color: STATUS_COLORS[d.status] ?? "gray.4" }))}
                withLabelsLine
                withLabels
                size={180}
                thickness={26}
                chartLabel={String(statusData.reduce((sum, d) => sum + d.count, 0))}
              />
              <Group gap="md" justify="center">
                {statusData.map((d) => (
                  <Text key={d.status} size="xs">
                    <Text span fw={700}>
                      {d.count}
                    </Text>{" "}
                    {d.status}
                  </Text>
                ))}
              </Group>
            </Stack>
          )}
        </Paper>
      </SimpleGrid>
      {data && (
        <Paper withBorder radius="md">
          <Title order={3} size="h5" p="md" pb={0}>
            Agents
          </Title>
          <Table.ScrollContainer minWidth={560}>
            <Table verticalSpacing="sm" aria-label="Per-agent figures">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Agent</Table.Th>
                  <Table.Th>Replies</Table.Th>
                  <Table.Th>First response (median / p90)</Table.Th>
                  <Table.Th>Reply time (median / p90)</Table.Th>
                  <Table.Th>Resolution (median / p90)</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.agents.map((a) => (
                  <Table.Tr key={a.agentId}>
                    <Table.Td>{a.name}</Table.Td>
                    <Table.Td>{a.replies}</Table.Td>
                    <Table.Td>
                      {formatDuration(a.firstResponse.median)} / {formatDuration(a.firstResponse.p90)}
                    </Table.Td>
                    <Table.Td>
                      {formatDuration(a.reply.median)} / {formatDuration(a.reply.p90)}
                    </Table.Td>
                    <Table.Td>
                      {formatDuration(a.resolution.median)} / {formatDuration(a.resolution.p90)}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {data.agents.length === 0 && (
            <Text c="dimmed" ta="center" p="lg" size="sm">
              No agent activity in this period.
            </Text>
          )}
        </Paper>
      )}
    </Page>
  );
}
