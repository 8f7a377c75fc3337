import {
  Avatar,
  Badge,
  Box,
  Center,
  CloseButton,
  Group,
  Loader,
  SegmentedControl,
  Select,
  Skeleton,
  Stack,
  Tabs,
  Text,
  TextInput,
  ThemeIcon,
  Tooltip,
} from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconClockOff, IconInbox, IconSearch, IconTag } from "@tabler/icons-react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useEffect, useRef, useState } from "react";
import type { LabelOut } from "../../api/collaboration";
import type { ConversationOut, ConversationStats } from "../../api/resources";
import { initials, shortTime } from "../../lib/format";
import { LabelBadges } from "./Labels";

export type InboxView = "mine" | "unassigned" | "all";
export type StatusTab = "open" | "pending" | "resolved" | "archived" | "any";

const STATUS_TABS: { value: StatusTab; label: string }[] = [
  { value: "any", label: "All" },
  { value: "open", label: "Open" },
  { value: "pending", label: "Pending" },
  { value: "resolved", label: "Resolved" },
  { value: "archived", label: "Archived" },
];

const STATUS_COLOR: Record<string, string> = { open: "teal", pending: "yellow", resolved: "gray", archived: "dark" };

const ROW_HEIGHT = 76;

function count(stats: ConversationStats | undefined, tab: StatusTab): number | null {
  if (!stats) return null;
  return tab === "any" ? stats.total : stats[tab];
}

export const ConversationRow = memo(function ConversationRow({
  conversation,
  selected,
  showStatus,
  onOpen,
  labelCatalog,
}: {
  conversation: ConversationOut;
  selected: boolean;
  showStatus: boolean;
  onOpen: (id: string) => void;
  labelCatalog?: LabelOut[];
}) {
  const labels = conversation.labels.map(String);
  const unread = conversation.unreadCount;
  return (
    <Box
      component="button"
      type="button"
      className="conversation-row"
      data-selected={selected || undefined}
      data-unread={unread > 0 || undefined}
      aria-current={selected ? "true" : undefined}
      aria-label={`${conversation.contact.name}${unread > 0 ? `, ${unread} unread` : ""}`}
      data-conversation-id={conversation.id}
      onClick={() => onOpen(conversation.id)}
    >
      <Avatar color="teal" radius="xl" size={44} aria-hidden>
        {initials(conversation.contact.name)}
      </Avatar>
      <Box style={{ minWidth: 0, flex: 1 }}>
        <Group justify="space-between" gap={6} wrap="nowrap">
          <Text size="sm" fw={unread > 0 ? 700 : 600} truncate="end">
            {conversation.contact.name}
          </Text>
          <Text size="xs" c={unread > 0 ? "teal" : "dimmed"} fw={unread > 0 ? 600 : 400} style={{ flexShrink: 0 }}>
            <time dateTime={conversation.lastMessageAt}>{shortTime(conversation.lastMessageAt)}</time>
          </Text>
        </Group>
        <Group justify="space-between" gap={6} wrap="nowrap" mt={2}>
          <Text size="xs" c="dimmed" truncate="end" className="conversation-preview">
            {conversation.lastMessagePreview ?? "No messages yet"}
          </Text>
          <Group gap={4} wrap="nowrap" style={{ flexShrink: 0 }}>
            {!conversation.windowOpen && (
              <Tooltip label="24-hour window closed: only templates can be sent">
                <ThemeIcon size={18} variant="light" color="orange" radius="xl" aria-label="Customer window closed">
                  <IconClockOff size={12} />
                </ThemeIcon>
              </Tooltip>
            )}
            {showStatus && (
              <Badge size="xs" variant="light" color={STATUS_COLOR[conversation.status]}>
                {conversation.status}
              </Badge>
            )}
            {unread > 0 && (
              <Badge size="sm" circle={unread < 10} color="teal" aria-label={`${unread} unread`}>
                {unread > 99 ? "99+" : unread}
              </Badge>
            )}
          </Group>
        </Group>
        {(conversation.assignee || labels.length > 0) && (
          <Group gap={6} wrap="nowrap" mt={2} style={{ minWidth: 0 }}>
            {conversation.assignee && (
              <Text size="10px" c="dimmed" truncate="end" style={{ flexShrink: 0, maxWidth: "45%" }}>
                → {conversation.assignee.name}
              </Text>
            )}
            <LabelBadges labels={labels} catalog={labelCatalog} max={2} />
          </Group>
        )}
      </Box>
    </Box>
  );
});

export type ConversationListProps = {
  items: ConversationOut[];
  loading: boolean;
  error: boolean;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
  selectedId?: string;
  onOpen: (id: string) => void;
  view: InboxView;
  onView: (view: InboxView) => void;
  status: StatusTab;
  onStatus: (status: StatusTab) => void;
  search: string;
  onSearch: (q: string) => void;
  stats?: ConversationStats;
  /** The label the list is filtered by, the catalogue to choose from, and how to change it. */
  label?: string;
  onLabel?: (label: string | undefined) => void;
  labelCatalog?: LabelOut[];
};

export function ConversationList(props: ConversationListProps) {
  const { items, hasMore, loadingMore, onLoadMore, selectedId } = props;
  const scrollRef = useRef<HTMLDivElement>(null);
  const [text, setText] = useState(props.search);
  const [debounced] = useDebouncedValue(text, 300);
  const onSearch = props.onSearch;
  useEffect(() => {
    if (debounced !== props.search) onSearch(debounced);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [debounced]);

  const virtualizer = useVirtualizer({
    count: items.length + (hasMore ? 1 : 0),
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });
  const virtualItems = virtualizer.getVirtualItems();
  const lastIndex = virtualItems[virtualItems.length - 1]?.index ?? 0;

  // Infinite scroll: fetch the next page as the last rows come into view.
  useEffect(() => {
    if (hasMore && !loadingMore && lastIndex >= items.length - 5) onLoadMore();
  }, [lastIndex, items.length, hasMore, loadingMore, onLoadMore]);

  // Keep the keyboard selection visible.
  useEffect(() => {
    const index = items.findIndex((c) => c.id === selectedId);
    if (index >= 0) virtualizer.scrollToIndex(index, { align: "auto" });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selectedId]);

  const viewData = [
    { value: "mine", label: `Mine${props.stats ? ` ${props.stats.mine}` : ""}` },
    { value: "unassigned", label: `Unassigned${props.stats ? ` ${props.stats.unassigned}` : ""}` },
    { value: "all", label: "All" },
  ];

  return (
    <Stack gap={0} h="100%" className="conversation-list">
      <Stack gap="xs" p="sm" pb={0}>
        <TextInput
          placeholder="Search name, number or text"
          aria-label="Search conversations"
          leftSection={<IconSearch size={16} />}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          rightSection={text ? <CloseButton size="sm" aria-label="Clear search" onClick={() => setText("")} /> : null}
        />
        <SegmentedControl
          fullWidth
          size="xs"
          value={props.view}
          onChange={(v) => props.onView(v as InboxView)}
          data={viewData}
          aria-label="Which conversations"
        />
        {props.onLabel && (props.label || (props.labelCatalog?.length ?? 0) > 0) && (
          <Select
            size="xs"
            placeholder="All labels"
            aria-label="Filter by label"
            leftSection={<IconTag size={14} />}
            clearable
            searchable
            nothingFoundMessage="No such label"
            value={props.label ?? null}
            onChange={(value) => props.onLabel?.(value ?? undefined)}
            data={[
              ...(props.labelCatalog ?? []).map((l) => ({ value: l.label, label: `${l.label} (${l.count})` })),
              ...(props.label && !props.labelCatalog?.some((l) => l.label === props.label) ? [{ value: props.label, label: props.label }] : []),
            ]}
            comboboxProps={{ withinPortal: true }}
          />
        )}
      </Stack>
      <Tabs value={props.status} onChange={(v) => props.onStatus((v ?? "any") as StatusTab)} variant="default" mt={6}>
        <Tabs.List grow className="status-tabs" aria-label="Conversation status">
          {STATUS_TABS.map((tab) => (
            <Tabs.Tab key={tab.value} value={tab.value} px={4} py={8} aria-label={`${tab.label} conversations`}>
              <Text size="xs" fw={500} span>
                {tab.label}
              </Text>
              {count(props.stats, tab.value) !== null && (
                <Text size="10px" c="dimmed" span ml={4} data-testid={`count-${tab.value}`}>
                  {count(props.stats, tab.value)}
                </Text>
              )}
            </Tabs.Tab>
          ))}
        </Tabs.List>
      </Tabs>
      <Box ref={scrollRef} className="conversation-scroll" role="list" aria-label="Conversations" aria-busy={props.loading}>
        {props.loading ? (
          <Stack gap={0}>
            {Array.from({ length: 8 }, (_, i) => (
              <Group key={i} p="sm" gap="sm" wrap="nowrap" h={ROW_HEIGHT}>
                <Skeleton circle height={44} />
                <Stack gap={6} style={{ flex: 1 }}>
                  <Skeleton height={10} width="60%" />
                  <Skeleton height={8} width="90%" />
                </Stack>
              </Group>
            ))}
          </Stack>
        ) : items.length === 0 ? (
          <Center h="100%" p="xl">
            <Stack align="center" gap="xs">
              <ThemeIcon size={48} radius="xl" variant="light" color="gray">
                <IconInbox size={26} />
              </ThemeIcon>
              <Text fw={600}>{props.error ? "Could not load conversations" : "No conversations"}</Text>
              <Text size="sm" c="dimmed" ta="center">
                {props.search
                  ? "Nothing matches your search."
                  : props.label
                    ? `No conversation here carries the label “${props.label}”.`
                    : props.view === "mine"
                      ? "Nothing is assigned to you here."
                      : "New WhatsApp conversations will appear here as they arrive."}
              </Text>
            </Stack>
          </Center>
        ) : (
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {virtualItems.map((row) => {
              const conversation = items[row.index];
              return (
                <div
                  key={conversation?.id ?? "more"}
                  role="listitem"
                  style={{ position: "absolute", top: 0, left: 0, right: 0, height: row.size, transform: `translateY(${row.start}px)` }}
                >
                  {conversation ? (
                    <ConversationRow
                      conversation={conversation}
                      selected={conversation.id === selectedId}
                      showStatus={props.status === "any"}
                      onOpen={props.onOpen}
                      labelCatalog={props.labelCatalog}
                    />
                  ) : (
                    <Center h="100%">
                      <Loader size="sm" aria-label="Loading more conversations" />
                    </Center>
                  )}
                </div>
              );
            })}
          </div>
        )}
      </Box>
    </Stack>
  );
}
