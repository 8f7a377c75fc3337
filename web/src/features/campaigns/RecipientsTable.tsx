import { Alert, Badge, Button, Center, Group, Paper, Select, Skeleton, Table, Text, TextInput, Title, Tooltip } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconSearch } from "@tabler/icons-react";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useState } from "react";
import { keys } from "../../api/cache";
import { listRecipients, type RecipientOut, type RecipientStatus } from "../../api/resources";
import { dayjs, fullTime, phone } from "../../lib/format";
import { RECIPIENT_STATUS_COLOR, RECIPIENT_STATUSES, skipReasonLabel } from "./model";

function latestTime(r: RecipientOut): string | null {
  return r.repliedAt ?? r.readAt ?? r.deliveredAt ?? r.failedAt ?? r.sentAt ?? null;
}

function Reason({ recipient }: { recipient: RecipientOut }) {
  if (recipient.status === "skipped") {
    return (
      <Text size="sm" c="dimmed">
        {skipReasonLabel(recipient.skipReason)}
      </Text>
    );
  }
  const error = recipient.error;
  if (!error) return null;
  return (
    <Tooltip label={error.explanation ?? error.title ?? ""} disabled={!error.explanation} multiline maw={360} withinPortal>
      <div>
        <Text size="sm" c="red">
          {error.title ?? "Failed"}
          {error.code != null ? ` (${error.code})` : ""}
        </Text>
        {error.explanation && (
          <Text size="xs" c="dimmed" lineClamp={2}>
            {error.explanation}
          </Text>
        )}
        {error.retryable && (
          <Badge size="xs" variant="light" color="blue">
            retryable
          </Badge>
        )}
      </div>
    </Tooltip>
  );
}

/** The campaign's recipients with their status and failure reason, filtered, a page at a time. */
export function RecipientsTable({ campaignId }: { campaignId: string }) {
  const [status, setStatus] = useState<RecipientStatus | undefined>(undefined);
  const [text, setText] = useState("");
  const [search] = useDebouncedValue(text.trim(), 300);
  const filters = { status, search: search || undefined };
  const recipients = useInfiniteQuery({
    queryKey: keys.campaignRecipientList(campaignId, filters),
    queryFn: ({ pageParam }) => listRecipients(campaignId, filters, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    meta: { silent: true },
    placeholderData: (previous) => previous,
  });
  const items = recipients.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Paper withBorder radius="md">
      <Group justify="space-between" p="md" pb="xs" wrap="wrap" gap="sm">
        <Title order={2} size="h5">
          Recipients
        </Title>
        <Group gap="xs" wrap="wrap">
          <TextInput
            leftSection={<IconSearch size={14} />}
            placeholder="Name or number"
            aria-label="Search recipients"
            size="xs"
            value={text}
            onChange={(e) => setText(e.currentTarget.value)}
            w={200}
          />
          <Select
            size="xs"
            w={150}
            aria-label="Recipient status"
            placeholder="Every status"
            data={RECIPIENT_STATUSES.map((s) => ({ value: s, label: s }))}
            value={status ?? null}
            onChange={(v) => setStatus((v as RecipientStatus | null) ?? undefined)}
            clearable
          />
        </Group>
      </Group>
      {recipients.isError ? (
        <Alert color="red" variant="light" m="md">
          {recipients.error.message}
        </Alert>
      ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table verticalSpacing="sm" aria-label="Recipients" highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Contact</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Reason</Table.Th>
                <Table.Th>Attempts</Table.Th>
                <Table.Th>Last change</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {recipients.isLoading &&
                Array.from({ length: 4 }, (_, i) => (
                  <Table.Tr key={i}>
                    {Array.from({ length: 5 }, (__, j) => (
                      <Table.Td key={j}>
                        <Skeleton height={14} />
                      </Table.Td>
                    ))}
                  </Table.Tr>
                ))}
              {items.map((r) => {
                const at = latestTime(r) ?? r.updatedAt;
                return (
                  <Table.Tr key={r.id} data-testid="recipient-row" data-status={r.status}>
                    <Table.Td>
                      <Text size="sm" fw={500}>
                        {r.contact.name}
                      </Text>
                      <Text size="xs" c="dimmed">
                        {phone(r.contact.waId)}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Badge size="sm" variant="light" color={RECIPIENT_STATUS_COLOR[r.status]}>
                        {r.status}
                      </Badge>
                    </Table.Td>
                    <Table.Td maw={360}>
                      <Reason recipient={r} />
                    </Table.Td>
                    <Table.Td>{r.attempts}</Table.Td>
                    <Table.Td>
                      <Tooltip label={fullTime(at)}>
                        <Text size="sm" c="dimmed">
                          {dayjs(at).fromNow()}
                        </Text>
                      </Tooltip>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {recipients.isSuccess && items.length === 0 && (
        <Center p="xl">
          <Text c="dimmed" size="sm">
            {status || search ? "No recipient matches these filters." : "No recipients yet: they are written when the campaign starts (or when a CSV is uploaded)."}
          </Text>
        </Center>
      )}
      {recipients.hasNextPage && (
        <Center p="sm">
          <Button variant="subtle" onClick={() => void recipients.fetchNextPage()} loading={recipients.isFetchingNextPage}>
            Load more
          </Button>
        </Center>
      )}
    </Paper>
  );
}
