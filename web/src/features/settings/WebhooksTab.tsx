import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Center,
  Checkbox,
  Code,
  Drawer,
  Group,
  Menu,
  Modal,
  Paper,
  Select,
  SimpleGrid,
  Skeleton,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Tooltip,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import {
  IconChevronDown,
  IconChevronRight,
  IconDots,
  IconKey,
  IconList,
  IconPencil,
  IconPlayerPlay,
  IconPlus,
  IconRefresh,
  IconSend,
  IconTrash,
  IconWebhook,
} from "@tabler/icons-react";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { keys } from "../../api/cache";
import {
  createWebhook,
  deleteWebhook,
  getDelivery,
  listDeliveries,
  listWebhookEventTypes,
  listWebhooks,
  replayDelivery,
  rotateWebhookSecret,
  sendWebhookTest,
  updateWebhook,
  type DeliveryOut,
  type DeliveryStatus,
  type WebhookOut,
} from "../../api/resources";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { dayjs, fullTime } from "../../lib/format";
import { SecretOnceModal } from "./SecretOnceModal";

const ALL = "*";
const DELIVERY_COLOR: Record<DeliveryStatus, string> = { pending: "gray", delivering: "blue", succeeded: "teal", failed: "red" };

type Form = { url: string; description: string; events: string[]; all: boolean; isActive: boolean };
const EMPTY: Form = { url: "", description: "", events: [], all: false, isActive: true };

function WebhookModal({
  webhook,
  opened,
  onClose,
  onCreated,
}: {
  webhook: WebhookOut | null;
  opened: boolean;
  onClose: () => void;
  onCreated: (secret: string) => void;
}) {
  const queryClient = useQueryClient();
  const eventTypes = useQuery({ queryKey: keys.webhookEventTypes, queryFn: listWebhookEventTypes, staleTime: 300_000 });
  const [form, setForm] = useState<Form>(EMPTY);
  const [loadedFor, setLoadedFor] = useState<string | null | undefined>(undefined);
  if (opened && loadedFor !== (webhook?.id ?? null)) {
    setLoadedFor(webhook?.id ?? null);
    setForm(
      webhook
        ? {
            url: webhook.url,
            description: webhook.description,
            events: webhook.events.filter((e) => e !== ALL),
            all: webhook.events.includes(ALL),
            isActive: webhook.isActive,
          }
        : EMPTY,
    );
  }
  const close = () => {
    setLoadedFor(undefined);
    save.reset();
    onClose();
  };
  const events = form.all ? [ALL] : form.events;
  const save = useMutation({
    mutationFn: async () => {
      const body = { url: form.url.trim(), description: form.description, events, isActive: form.isActive };
      if (webhook) return { webhook: await updateWebhook(webhook.id, body), secret: null };
      const created = await createWebhook(body);
      return { webhook: created, secret: created.secret };
    },
    meta: { silent: true },
    onSuccess: ({ secret }) => {
      void queryClient.invalidateQueries({ queryKey: keys.webhooks });
      notifications.show({ color: "teal", message: webhook ? "Webhook saved." : "Webhook created." });
      close();
      if (secret) onCreated(secret);
    },
  });
  return (
    <Modal opened={opened} onClose={close} title={webhook ? "Edit webhook" : "Add a webhook"} size="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Stack gap="sm">
          <TextInput
            label="URL"
            description="Events are POSTed here as JSON, signed with the X-Wadesk-Signature header."
            placeholder="https://example.com/hooks/wadesk"
            type="url"
            value={form.url}
            onChange={(e) => setForm({ ...form, url: e.currentTarget.value })}
            required
            maxLength={2048}
          />
          <TextInput label="Description" value={form.description} onChange={(e) => setForm({ ...form, description: e.currentTarget.value })} maxLength={200} />
          <Checkbox
            label="Every event, including ones added later"
            checked={form.all}
            onChange={(e) => setForm({ ...form, all: e.currentTarget.checked })}
          />
          {eventTypes.isLoading ? (
            <Skeleton height={80} />
          ) : (
            <Checkbox.Group label="Events" value={form.all ? [] : form.events} onChange={(v) => setForm({ ...form, events: v })}>
              <SimpleGrid cols={{ base: 1, xs: 2 }} spacing={6} mt={6}>
                {(eventTypes.data ?? []).map((event) => (
                  <Checkbox key={event} value={event} label={<Text span ff="monospace" size="sm">{event}</Text>} disabled={form.all} />
                ))}
              </SimpleGrid>
            </Checkbox.Group>
          )}
          <Switch label="Active: deliver events" checked={form.isActive} onChange={(e) => setForm({ ...form, isActive: e.currentTarget.checked })} />
          {save.error ? <ApiErrorAlert error={save.error} /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending} disabled={!form.url.trim() || events.length === 0}>
              {webhook ? "Save" : "Add webhook"}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function DeliveryDetailRow({ webhookId, delivery }: { webhookId: string; delivery: DeliveryOut }) {
  const detail = useQuery({
    queryKey: keys.webhookDelivery(webhookId, delivery.id),
    queryFn: () => getDelivery(webhookId, delivery.id),
    meta: { silent: true },
  });
  if (detail.isLoading) return <Skeleton height={60} />;
  if (detail.error) return <ApiErrorAlert error={detail.error} />;
  const data = detail.data;
  if (!data) return null;
  return (
    <Stack gap="xs" py="xs">
      <Text size="xs" c="dimmed">
        Event <Text span ff="monospace">{data.eventId}</Text>
        {data.replayOfId ? " · a replay" : ""}
        {data.nextAttemptAt ? ` · next attempt ${dayjs(data.nextAttemptAt).fromNow()}` : ""}
      </Text>
      {data.attemptLog.length === 0 ? (
        <Text size="sm" c="dimmed">
          Not attempted yet.
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={560}>
          <Table verticalSpacing={4} aria-label="Attempts" withTableBorder>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>#</Table.Th>
                <Table.Th>At</Table.Th>
                <Table.Th>Answer</Table.Th>
                <Table.Th>Latency</Table.Th>
                <Table.Th>Response</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data.attemptLog.map((a) => (
                <Table.Tr key={a.number}>
                  <Table.Td>{a.number}</Table.Td>
                  <Table.Td>
                    <Text size="xs">{dayjs(a.requestedAt).format("D MMM HH:mm:ss")}</Text>
                  </Table.Td>
                  <Table.Td>
                    {a.statusCode != null ? (
                      <Badge size="sm" variant="light" color={a.statusCode >= 200 && a.statusCode < 300 ? "teal" : "red"}>
                        {a.statusCode}
                      </Badge>
                    ) : (
                      <Text size="xs" c="red">
                        {a.error ?? "no answer"}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Text size="xs">{a.latencyMs != null ? `${a.latencyMs} ms` : "—"}</Text>
                  </Table.Td>
                  <Table.Td maw={280}>
                    <Text size="xs" ff="monospace" lineClamp={3} style={{ wordBreak: "break-all" }}>
                      {a.responseSnippet || (a.statusCode != null && a.error ? a.error : "—")}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Text size="xs" c="dimmed">
        Body as sent
      </Text>
      <Code block style={{ maxHeight: 220, overflow: "auto" }}>
        {JSON.stringify(data.body, null, 2)}
      </Code>
    </Stack>
  );
}

/** A webhook's deliveries, newest first: status, attempts, the last answer; expand for latency and responses. */
function DeliveriesDrawer({ webhook, onClose }: { webhook: WebhookOut | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<DeliveryStatus | undefined>(undefined);
  const [open, setOpen] = useState<string | null>(null);
  const id = webhook?.id ?? "";
  const deliveries = useInfiniteQuery({
    queryKey: [...keys.webhookDeliveries(id), status ?? "all"],
    queryFn: ({ pageParam }) => listDeliveries(id, status, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    enabled: Boolean(webhook),
    meta: { silent: true },
    refetchInterval: (query) =>
      query.state.data?.pages.some((p) => p.items.some((d) => d.status === "pending" || d.status === "delivering")) ? 5_000 : false,
  });
  const replay = useMutation({
    mutationFn: (deliveryId: string) => replayDelivery(id, deliveryId),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.webhookDeliveries(id) });
      notifications.show({ color: "teal", message: "Delivery sent again (same event id, freshly signed)." });
    },
  });
  const items = deliveries.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Drawer opened={Boolean(webhook)} onClose={onClose} position="right" size="xl" title={webhook ? `Deliveries to ${webhook.url}` : ""}>
      <Stack gap="sm">
        <Group justify="space-between">
          <Select
            size="xs"
            aria-label="Delivery status"
            placeholder="Every status"
            data={["pending", "delivering", "succeeded", "failed"]}
            value={status ?? null}
            onChange={(v) => setStatus((v as DeliveryStatus | null) ?? undefined)}
            clearable
            w={170}
          />
          <Button
            size="xs"
            variant="subtle"
            leftSection={<IconRefresh size={14} />}
            onClick={() => void queryClient.invalidateQueries({ queryKey: keys.webhookDeliveries(id) })}
            loading={deliveries.isRefetching}
          >
            Refresh
          </Button>
        </Group>
        {deliveries.isError ? (
          <Alert color="red" variant="light">
            {deliveries.error.message}
          </Alert>
        ) : (
          <Paper withBorder radius="md">
            <Table.ScrollContainer minWidth={600}>
              <Table verticalSpacing="xs" aria-label="Deliveries">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th w={28} />
                    <Table.Th>Event</Table.Th>
                    <Table.Th>Status</Table.Th>
                    <Table.Th>Last answer</Table.Th>
                    <Table.Th>When</Table.Th>
                    <Table.Th />
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {deliveries.isLoading && (
                    <Table.Tr>
                      <Table.Td colSpan={6}>
                        <Skeleton height={20} />
                      </Table.Td>
                    </Table.Tr>
                  )}
                  {items.map((d) => (
                    <DeliveryRow
                      key={d.id}
                      delivery={d}
                      webhookId={id}
                      expanded={open === d.id}
                      onToggle={() => setOpen(open === d.id ? null : d.id)}
                      onReplay={() => replay.mutate(d.id)}
                      replaying={replay.isPending && replay.variables === d.id}
                    />
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            {deliveries.isSuccess && items.length === 0 && (
              <Center p="xl">
                <Text c="dimmed" size="sm">
                  {status ? `No ${status} delivery.` : "No delivery yet. Send a test event to try the endpoint."}
                </Text>
              </Center>
            )}
            {deliveries.hasNextPage && (
              <Center p="sm">
                <Button variant="subtle" onClick={() => void deliveries.fetchNextPage()} loading={deliveries.isFetchingNextPage}>
                  Load older
                </Button>
              </Center>
            )}
          </Paper>
        )}
      </Stack>
    </Drawer>
  );
}

function DeliveryRow({
  delivery: d,
  webhookId,
  expanded,
  onToggle,
  onReplay,
  replaying,
}: {
  delivery: DeliveryOut;
  webhookId: string;
  expanded: boolean;
  onToggle: () => void;
  onReplay: () => void;
  replaying: boolean;
}) {
  return (
    <>
      <Table.Tr data-testid="delivery-row">
        <Table.Td>
          <ActionIcon variant="subtle" size="sm" onClick={onToggle} aria-label={expanded ? "Hide attempts" : "Show attempts"} aria-expanded={expanded}>
            {expanded ? <IconChevronDown size={14} /> : <IconChevronRight size={14} />}
          </ActionIcon>
        </Table.Td>
        <Table.Td>
          <Text size="sm" ff="monospace">
            {d.eventType}
          </Text>
          {d.replayOfId && (
            <Badge size="xs" variant="outline">
              replay
            </Badge>
          )}
        </Table.Td>
        <Table.Td>
          <Badge size="sm" color={DELIVERY_COLOR[d.status]}>
            {d.status}
          </Badge>
          <Text size="xs" c="dimmed">
            {d.attempts} attempt{d.attempts === 1 ? "" : "s"}
          </Text>
        </Table.Td>
        <Table.Td maw={220}>
          {d.lastStatusCode != null && <Text size="sm">HTTP {d.lastStatusCode}</Text>}
          {d.lastError && d.lastError !== `HTTP ${d.lastStatusCode}` && (
            <Text size="xs" c="red" lineClamp={2}>
              {d.lastError}
            </Text>
          )}
          {d.lastStatusCode == null && !d.lastError && (
            <Text size="sm" c="dimmed">
              —
            </Text>
          )}
        </Table.Td>
        <Table.Td>
          <Tooltip label={fullTime(d.createdAt)}>
            <Text size="xs" c="dimmed">
              {dayjs(d.createdAt).fromNow()}
            </Text>
          </Tooltip>
        </Table.Td>
        <Table.Td>
          <Button size="xs" variant="subtle" leftSection={<IconPlayerPlay size={12} />} onClick={onReplay} loading={replaying} aria-label={`Replay ${d.eventType} delivery`}>
            Replay
          </Button>
        </Table.Td>
      </Table.Tr>
      {expanded && (
        <Table.Tr>
          <Table.Td colSpan={6}>
            <DeliveryDetailRow webhookId={webhookId} delivery={d} />
          </Table.Td>
        </Table.Tr>
      )}
    </>
  );
}

/** Outbound webhooks: URLs subscribed to the company's events, their signing secrets and delivery logs. */
export function WebhooksTab() {
  const queryClient = useQueryClient();
  const webhooks = useQuery({ queryKey: keys.webhooks, queryFn: listWebhooks });
  const [editing, setEditing] = useState<WebhookOut | null>(null);
  const [modalOpen, setModalOpen] = useState(false);
  const [logOf, setLogOf] = useState<WebhookOut | null>(null);
  const [secret, setSecret] = useState<{ value: string; title: string } | null>(null);
  const toggle = useMutation({
    mutationFn: ({ id, isActive }: { id: string; isActive: boolean }) => updateWebhook(id, { isActive }),
    onSuccess: (updated) => {
      queryClient.setQueryData<WebhookOut[]>(keys.webhooks, (old) => old?.map((w) => (w.id === updated.id ? updated : w)));
      notifications.show({ color: "teal", message: updated.isActive ? "Webhook enabled." : "Webhook disabled: no more deliveries." });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => deleteWebhook(id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.webhooks });
      notifications.show({ color: "teal", message: "Webhook deleted." });
    },
  });
  const rotate = useMutation({
    mutationFn: (webhook: WebhookOut) => rotateWebhookSecret(webhook.id),
    onSuccess: (value, webhook) => setSecret({ value, title: `New signing secret for ${webhook.url}` }),
  });
  const test = useMutation({
    mutationFn: (webhook: WebhookOut) => sendWebhookTest(webhook.id),
    onSuccess: (_delivery, webhook) => {
      void queryClient.invalidateQueries({ queryKey: keys.webhookDeliveries(webhook.id) });
      notifications.show({ color: "teal", message: "Test event queued: see it in the deliveries." });
    },
  });
  const items = webhooks.data ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Text c="dimmed" size="sm" maw={640}>
          Your systems get the company's events as signed HTTPS requests, retried with backoff for 24 hours when they fail.
        </Text>
        <Button
          leftSection={<IconPlus size={16} />}
          onClick={() => {
            setEditing(null);
            setModalOpen(true);
          }}
        >
          Add webhook
        </Button>
      </Group>
      <Paper withBorder radius="md">
        <Table.ScrollContainer minWidth={760}>
          <Table verticalSpacing="sm" aria-label="Webhooks">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>URL</Table.Th>
                <Table.Th>Events</Table.Th>
                <Table.Th>Active</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {webhooks.isLoading && (
                <Table.Tr>
                  <Table.Td colSpan={5}>
                    <Skeleton height={20} />
                  </Table.Td>
                </Table.Tr>
              )}
              {items.map((w) => (
                <Table.Tr key={w.id} data-testid="webhook-row" opacity={w.isActive ? 1 : 0.6}>
                  <Table.Td maw={320}>
                    <Text size="sm" ff="monospace" truncate="end" title={w.url}>
                      {w.url}
                    </Text>
                    {w.description && (
                      <Text size="xs" c="dimmed">
                        {w.description}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td maw={300}>
                    <Group gap={4}>
                      {w.events.includes(ALL) ? (
                        <Badge size="sm" variant="light">
                          every event
                        </Badge>
                      ) : (
                        w.events.map((e) => (
                          <Badge key={e} size="xs" variant="light" color="gray" tt="none">
                            {e}
                          </Badge>
                        ))
                      )}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Switch
                      aria-label={`Deliver to ${w.url}`}
                      checked={w.isActive}
                      disabled={toggle.isPending && toggle.variables?.id === w.id}
                      onChange={(e) => toggle.mutate({ id: w.id, isActive: e.currentTarget.checked })}
                    />
                  </Table.Td>
                  <Table.Td>
                    <Tooltip label={fullTime(w.createdAt)}>
                      <Text size="sm" c="dimmed">
                        {dayjs(w.createdAt).format("D MMM YYYY")}
                      </Text>
                    </Tooltip>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4} justify="flex-end" wrap="nowrap">
                      <Button size="xs" variant="light" leftSection={<IconList size={14} />} onClick={() => setLogOf(w)}>
                        Deliveries
                      </Button>
                      <Menu position="bottom-end" withinPortal>
                        <Menu.Target>
                          <ActionIcon variant="subtle" aria-label={`More for ${w.url}`}>
                            <IconDots size={16} />
                          </ActionIcon>
                        </Menu.Target>
                        <Menu.Dropdown>
                          <Menu.Item
                            leftSection={<IconPencil size={14} />}
                            onClick={() => {
                              setEditing(w);
                              setModalOpen(true);
                            }}
                          >
                            Edit
                          </Menu.Item>
                          <Menu.Item leftSection={<IconSend size={14} />} onClick={() => test.mutate(w)} disabled={!w.isActive}>
                            Send a test event
                          </Menu.Item>
                          <Menu.Item
                            leftSection={<IconKey size={14} />}
                            onClick={() => {
                              if (window.confirm("Replace the signing secret? Deliveries are signed with the new one at once.")) rotate.mutate(w);
                            }}
                          >
                            New signing secret
                          </Menu.Item>
                          <Menu.Divider />
                          <Menu.Item
                            color="red"
                            leftSection={<IconTrash size={14} />}
                            onClick={() => {
                              if (window.confirm(`Delete the webhook to ${w.url} and its delivery log?`)) remove.mutate(w.id);
                            }}
                          >
                            Delete
                          </Menu.Item>
                        </Menu.Dropdown>
                      </Menu>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        {webhooks.isSuccess && items.length === 0 && (
          <Stack align="center" gap={4} p="xl">
            <IconWebhook size={28} stroke={1.4} color="var(--mantine-color-dimmed)" />
            <Text c="dimmed" size="sm">
              No webhook yet.
            </Text>
          </Stack>
        )}
      </Paper>
      <WebhookModal
        webhook={editing}
        opened={modalOpen}
        onClose={() => setModalOpen(false)}
        onCreated={(value) => setSecret({ value, title: "Signing secret of the new webhook" })}
      />
      <DeliveriesDrawer webhook={logOf} onClose={() => setLogOf(null)} />
      <SecretOnceModal
        secret={secret?.value ?? null}
        title={secret?.title ?? ""}
        label="Signing secret"
        hint="Verify each delivery: X-Wadesk-Signature is t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>' keyed with this secret>."
        onClose={() => setSecret(null)}
      />
    </Stack>
  );
}
