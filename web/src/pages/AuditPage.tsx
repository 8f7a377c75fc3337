import { Alert, Badge, Button, Center, Code, Group, Paper, Select, SimpleGrid, Skeleton, Table, Text, TextInput, Tooltip } from "@mantine/core";
import { DatePickerInput, type DatesRangeValue } from "@mantine/dates";
import { useDebouncedValue } from "@mantine/hooks";
import { IconFilterOff } from "@tabler/icons-react";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useState } from "react";
import { keys } from "../api/cache";
import { useUsers } from "../api/hooks";
import { listAudit, listAuditActions, type AuditEntry, type AuditFilters } from "../api/resources";
import { dayjs, fullTime } from "../lib/format";
import { Page } from "./Page";

/** Readable names of the areas, the prefixes of the actions (the API matches every action starting with a
 * value ending in a dot); an area without a name here shows as its prefix. */
const AREA_LABEL: Record<string, string> = {
  auth: "Sign-ins",
  user: "People and roles",
  tenant: "Company settings",
  phone_number: "Phone numbers",
  template: "Templates",
  contact: "Contacts",
  contacts: "Contact imports and exports",
  label: "Conversation labels",
  api_key: "API keys",
  webhook: "Outbound webhooks",
  campaign: "Campaigns",
};

/** The action filter's choices: each area as a prefix, then every action the server's catalogue lists. */
export function actionOptions(actions: string[]) {
  const areas = [...new Set(actions.map((a) => a.split(".")[0] ?? a))];
  return [
    { group: "Areas", items: areas.map((area) => ({ value: `${area}.`, label: AREA_LABEL[area] ? `${AREA_LABEL[area]} (${area}.)` : `${area}.` })) },
    { group: "Actions", items: actions.map((value) => ({ value, label: value })) },
  ];
}

const TARGET_TYPES = ["user", "tenant", "phone_number", "template", "contact", "label", "api_key", "webhook", "campaign"];

const AREA_COLOR: Record<string, string> = {
  auth: "blue",
  user: "violet",
  tenant: "grape",
  phone_number: "cyan",
  template: "indigo",
  contact: "teal",
  contacts: "teal",
  label: "lime",
  api_key: "orange",
  webhook: "pink",
  campaign: "green",
};

function detailValue(value: unknown): string {
  if (value == null) return "—";
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(", ");
  return JSON.stringify(value);
}

function Details({ details }: { details: Record<string, unknown> }) {
  const entries = Object.entries(details);
  if (entries.length === 0) return <Text size="sm" c="dimmed">—</Text>;
  return (
    <Group gap={6}>
      {entries.map(([key, value]) => (
        <Code key={key} style={{ whiteSpace: "normal", wordBreak: "break-word" }}>
          {key}: {detailValue(value)}
        </Code>
      ))}
    </Group>
  );
}

function Target({ entry }: { entry: AuditEntry }) {
  if (!entry.targetType) return <Text size="sm" c="dimmed">—</Text>;
  const id = entry.targetId ?? "";
  return (
    <div>
      <Text size="sm">{entry.targetType.replace(/_/g, " ")}</Text>
      {entry.targetType === "campaign" && id ? (
        <Link to="/campaigns/$campaignId" params={{ campaignId: id }} style={{ fontSize: "var(--mantine-font-size-xs)", color: "var(--mantine-color-anchor)" }}>
          open campaign
        </Link>
      ) : (
        id && (
          <Text size="xs" c="dimmed" ff="monospace" truncate="end" maw={180} title={id}>
            {id}
          </Text>
        )
      )}
    </div>
  );
}

export function AuditPage() {
  const users = useUsers();
  const actions = useQuery({ queryKey: keys.auditActions, queryFn: listAuditActions, staleTime: Infinity, meta: { silent: true } });
  const [action, setAction] = useState<string | null>(null);
  const [actorId, setActorId] = useState<string | null>(null);
  const [targetType, setTargetType] = useState<string | null>(null);
  const [targetIdText, setTargetId] = useState("");
  const [targetId] = useDebouncedValue(targetIdText.trim(), 300);
  const [range, setRange] = useState<DatesRangeValue<string>>([null, null]);
  const [from, to] = range;
  const filters: AuditFilters = {
    action: action ?? undefined,
    actorId: actorId ?? undefined,
    targetType: targetType ?? undefined,
    targetId: targetId || undefined,
    // Whole days in the viewer's time zone: from the first day's start to the day after the last one.
    since: from ? dayjs(from).startOf("day").toISOString() : undefined,
    until: to ? dayjs(to).add(1, "day").startOf("day").toISOString() : undefined,
  };
  const filtered = Boolean(action || actorId || targetType || targetId || from || to);
  const audit = useInfiniteQuery({
    queryKey: [...keys.audit, filters],
    queryFn: ({ pageParam }) => listAudit(filters, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    meta: { silent: true },
    retry: false,
  });
  const items = audit.data?.pages.flatMap((p) => p.items) ?? [];
  const clear = () => {
    setAction(null);
    setActorId(null);
    setTargetType(null);
    setTargetId("");
    setRange([null, null]);
  };

  return (
    <Page title="Audit log" description="Who did what and when in this company: sign-ins, people, numbers, templates, keys, webhooks and campaigns. Entries cannot be changed." maw={1280}>
      <Paper withBorder radius="md" p="md">
        <SimpleGrid cols={{ base: 1, xs: 2, md: 5 }} spacing="sm">
          <Select label="Action" placeholder="Every action" data={actionOptions(actions.data ?? [])} value={action} onChange={setAction} searchable clearable />
          <Select
            label="Who"
            placeholder="Everyone"
            data={(users.data ?? []).map((u) => ({ value: u.id, label: `${u.name} (${u.email})` }))}
            value={actorId}
            onChange={setActorId}
            searchable
            clearable
          />
          <Select
            label="Target type"
            placeholder="Any target"
            data={TARGET_TYPES.map((t) => ({ value: t, label: t.replace(/_/g, " ") }))}
            value={targetType}
            onChange={setTargetType}
            clearable
          />
          <TextInput label="Target id" placeholder="Exact id" value={targetIdText} onChange={(e) => setTargetId(e.currentTarget.value)} />
          <DatePickerInput
            type="range"
            label="Dates"
            placeholder="Any time"
            value={range}
            onChange={setRange}
            maxDate={dayjs().format("YYYY-MM-DD")}
            valueFormat="D MMM YYYY"
            clearable
            allowSingleDateInRange
          />
        </SimpleGrid>
        {filtered && (
          <Group justify="flex-end" mt="xs">
            <Button variant="subtle" size="xs" leftSection={<IconFilterOff size={14} />} onClick={clear}>
              Clear filters
            </Button>
          </Group>
        )}
      </Paper>
      {audit.isError ? (
        <Alert color="red" variant="light">
          {audit.error.message}
        </Alert>
      ) : (
        <Paper withBorder radius="md">
          <Table.ScrollContainer minWidth={900}>
            <Table verticalSpacing="sm" aria-label="Audit log" highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>When</Table.Th>
                  <Table.Th>Who</Table.Th>
                  <Table.Th>Action</Table.Th>
                  <Table.Th>Target</Table.Th>
                  <Table.Th>Details</Table.Th>
                  <Table.Th>IP</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {audit.isLoading &&
                  Array.from({ length: 6 }, (_, i) => (
                    <Table.Tr key={i}>
                      {Array.from({ length: 6 }, (__, j) => (
                        <Table.Td key={j}>
                          <Skeleton height={14} />
                        </Table.Td>
                      ))}
                    </Table.Tr>
                  ))}
                {items.map((entry) => (
                  <Table.Tr key={entry.id} data-testid="audit-row">
                    <Table.Td>
                      <Tooltip label={fullTime(entry.createdAt)}>
                        <div>
                          <Text size="sm">{dayjs(entry.createdAt).format("D MMM HH:mm")}</Text>
                          <Text size="xs" c="dimmed">
                            {dayjs(entry.createdAt).fromNow()}
                          </Text>
                        </div>
                      </Tooltip>
                    </Table.Td>
                    <Table.Td>
                      {entry.actor ? (
                        <>
                          <Text size="sm" fw={500}>
                            {entry.actor.name}
                          </Text>
                          <Text size="xs" c="dimmed">
                            {entry.actor.email}
                          </Text>
                        </>
                      ) : (
                        <Text size="sm" c="dimmed">
                          System
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Badge variant="light" tt="none" color={AREA_COLOR[entry.action.split(".")[0] ?? ""] ?? "gray"}>
                        {entry.action}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Target entry={entry} />
                    </Table.Td>
                    <Table.Td maw={380}>
                      <Details details={entry.details} />
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs" ff="monospace" c="dimmed">
                        {entry.ip ?? "—"}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {audit.isSuccess && items.length === 0 && (
            <Center p="xl">
              <Text c="dimmed">{filtered ? "No entry matches these filters." : "Nothing recorded yet."}</Text>
            </Center>
          )}
          {audit.hasNextPage && (
            <Center p="sm">
              <Button variant="subtle" onClick={() => void audit.fetchNextPage()} loading={audit.isFetchingNextPage}>
                Load older entries
              </Button>
            </Center>
          )}
        </Paper>
      )}
    </Page>
  );
}
