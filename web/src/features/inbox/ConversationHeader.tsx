import { ActionIcon, Avatar, Box, Button, Group, Menu, Select, Text, Tooltip } from "@mantine/core";
import { useElementSize } from "@mantine/hooks";
import {
  IconArchive,
  IconArrowLeft,
  IconCheck,
  IconChevronDown,
  IconClockOff,
  IconLayoutSidebarRight,
  IconUserCheck,
} from "@tabler/icons-react";
import type { LabelOut } from "../../api/collaboration";
import { presenceSentence, usePresence } from "../../api/presence";
import type { ConversationOut, ConversationStatus, UserDetail } from "../../api/resources";
import { initials, phone, windowLeft } from "../../lib/format";
import { LabelBadges, LabelPicker } from "./Labels";

const STATUS_LABEL: Record<ConversationStatus, string> = {
  open: "Open",
  pending: "Pending",
  resolved: "Resolved",
  archived: "Archived",
};
const STATUS_COLOR: Record<ConversationStatus, string> = { open: "teal", pending: "yellow", resolved: "gray", archived: "dark" };

export type ConversationHeaderProps = {
  conversation: ConversationOut;
  users: UserDetail[] | undefined;
  meId: string | undefined;
  busy?: boolean;
  onAssign: (userId: string | null) => void;
  onStatus: (status: ConversationStatus) => void;
  onArchive: () => void;
  onBack?: () => void;
  onTogglePanel?: () => void;
  panelOpen?: boolean;
  /** The company's labels (names and colours). */
  labelCatalog?: LabelOut[];
  /** Replaces the conversation's labels; without it labels are only shown. */
  onLabels?: (labels: string[]) => void;
  labelsBusy?: boolean;
};

export function ConversationHeader({
  conversation,
  users,
  meId,
  busy,
  onAssign,
  onStatus,
  onArchive,
  onBack,
  onTogglePanel,
  panelOpen,
  labelCatalog,
  onLabels,
  labelsBusy,
}: ConversationHeaderProps) {
  const active = (users ?? []).filter((u) => u.isActive || u.id === conversation.assignee?.id);
  const labels = conversation.labels.map(String);
  // Who else has this conversation open: a hint against two agents answering at once.
  const presence = presenceSentence(usePresence(conversation.id, meId));
  const left = windowLeft(conversation.customerWindowExpiresAt);
  const mine = conversation.assignee?.id === meId;
  // The header adapts to its own width (the side panel and the list take room too), not the window's.
  const { ref, width } = useElementSize();
  const compact = width > 0 && width < 620;
  const roomy = width >= 760;
  return (
    <Group ref={ref} className="thread-header" justify="space-between" wrap="nowrap" px="md" py="xs" gap="sm">
      <Group gap="sm" wrap="nowrap" style={{ minWidth: 0, flex: 1 }}>
        {onBack && (
          <ActionIcon variant="subtle" onClick={onBack} aria-label="Back to conversations" hiddenFrom="md">
            <IconArrowLeft size={20} />
          </ActionIcon>
        )}
        <Avatar color="teal" radius="xl" aria-hidden>
          {initials(conversation.contact.name)}
        </Avatar>
        <Box style={{ minWidth: 0 }}>
          <Text fw={600} truncate="end" data-testid="thread-contact-name" title={conversation.contact.name}>
            {conversation.contact.name}
          </Text>
          <Group gap={6} wrap="nowrap">
            <Text size="xs" c="dimmed" style={{ whiteSpace: "nowrap" }}>
              {phone(conversation.contact.waId)}
            </Text>
            {conversation.windowOpen ? (
              left &&
              !compact && (
                <Text size="xs" c="teal" style={{ whiteSpace: "nowrap" }}>
                  · window {left}
                </Text>
              )
            ) : (
              <Tooltip label="Only templates can be sent until the customer writes again">
                <Group gap={2} wrap="nowrap" aria-label="Customer window closed">
                  <IconClockOff size={12} color="var(--mantine-color-orange-6)" />
                  {!compact && (
                    <Text size="xs" c="orange" style={{ whiteSpace: "nowrap" }}>
                      window closed
                    </Text>
                  )}
                </Group>
              </Tooltip>
            )}
          </Group>
          <Text size="xs" className="presence-hint" fw={500} truncate="end" aria-live="polite" data-testid="presence-hint">
            {presence ?? ""}
          </Text>
          {labels.length > 0 && (
            <Box mt={2}>
              <LabelBadges
                labels={labels}
                catalog={labelCatalog}
                max={compact ? 1 : roomy ? 3 : 2}
                onRemove={onLabels ? (label) => onLabels(labels.filter((l) => l !== label)) : undefined}
                disabled={labelsBusy}
              />
            </Box>
          )}
        </Box>
      </Group>
      <Group gap="xs" wrap="nowrap">
        {!mine && meId && !compact && (
          <Button size="xs" variant="light" leftSection={<IconUserCheck size={16} />} onClick={() => onAssign(meId)} disabled={busy}>
            Assign to me
          </Button>
        )}
        {!mine && meId && compact && (
          <Tooltip label="Assign to me">
            <ActionIcon variant="light" size="lg" onClick={() => onAssign(meId)} disabled={busy} aria-label="Assign to me">
              <IconUserCheck size={18} />
            </ActionIcon>
          </Tooltip>
        )}
        <Select
          size="xs"
          w={160}
          display={roomy ? undefined : "none"}
          aria-label="Assignee"
          placeholder="Unassigned"
          clearable
          data={active.map((u) => ({ value: u.id, label: u.id === meId ? `${u.name} (me)` : u.name }))}
          value={conversation.assignee?.id ?? null}
          onChange={(value) => onAssign(value)}
          disabled={busy || !users}
          comboboxProps={{ withinPortal: true }}
        />
        {onLabels && <LabelPicker labels={labels} catalog={labelCatalog} onChange={onLabels} busy={labelsBusy} />}
        <Menu position="bottom-end" withArrow>
          <Menu.Target>
            <Button
              size="xs"
              variant="light"
              color={STATUS_COLOR[conversation.status]}
              rightSection={<IconChevronDown size={14} />}
              aria-label={`Status: ${STATUS_LABEL[conversation.status]}. Change status`}
              disabled={busy}
            >
              {STATUS_LABEL[conversation.status]}
            </Button>
          </Menu.Target>
          <Menu.Dropdown>
            <Menu.Label>Set status</Menu.Label>
            {(["open", "pending", "resolved"] as const).map((status) => (
              <Menu.Item
                key={status}
                onClick={() => onStatus(status)}
                rightSection={conversation.status === status ? <IconCheck size={14} /> : null}
              >
                {STATUS_LABEL[status]}
              </Menu.Item>
            ))}
            <Menu.Divider />
            {!roomy && <Menu.Label>Assign</Menu.Label>}
            <Box display={roomy ? "none" : undefined}>
              {meId && !mine && <Menu.Item onClick={() => onAssign(meId)}>Assign to me</Menu.Item>}
              {active
                .filter((u) => u.id !== meId)
                .map((u) => (
                  <Menu.Item key={u.id} onClick={() => onAssign(u.id)}>
                    Assign to {u.name}
                  </Menu.Item>
                ))}
              {conversation.assignee && <Menu.Item onClick={() => onAssign(null)}>Unassign</Menu.Item>}
              <Menu.Divider />
            </Box>
            <Menu.Item color="red" leftSection={<IconArchive size={14} />} onClick={onArchive} disabled={conversation.status === "archived"}>
              Archive
            </Menu.Item>
          </Menu.Dropdown>
        </Menu>
        {onTogglePanel && (
          <Tooltip label={panelOpen ? "Hide contact details" : "Show contact details"}>
            <ActionIcon variant={panelOpen ? "light" : "subtle"} color="gray" onClick={onTogglePanel} aria-label="Contact details" aria-pressed={panelOpen}>
              <IconLayoutSidebarRight size={20} />
            </ActionIcon>
          </Tooltip>
        )}
      </Group>
    </Group>
  );
}
