import { ActionIcon, Box, Button, Group, Popover, Stack, Text, Tooltip, UnstyledButton } from "@mantine/core";
import {
  IconAlertCircle,
  IconArrowBackUp,
  IconCheck,
  IconChecks,
  IconClock,
  IconMoodSmile,
  IconRefresh,
} from "@tabler/icons-react";
import { memo, useState } from "react";
import type { MessageOut } from "../../api/resources";
import { clockTime, fullTime } from "../../lib/format";
import { MessageContent } from "./MessageContent";
import { messageSummary, obj, type Reaction } from "./messageModel";

export const QUICK_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

export type LocalState = { pending?: boolean; localError?: string };
export type ThreadMessage = MessageOut & LocalState;

const STATUS_LABEL: Record<string, string> = {
  queued: "Queued",
  sending: "Sending",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Failed",
  received: "Received",
};

/** The queued → sent → delivered → read ticks of an outbound message. */
export function StatusTicks({ message }: { message: ThreadMessage }) {
  const status = message.localError ? "failed" : message.status;
  const label = STATUS_LABEL[status] ?? status;
  const times = [
    message.sentAt && `sent ${clockTime(message.sentAt)}`,
    message.deliveredAt && `delivered ${clockTime(message.deliveredAt)}`,
    message.readAt && `read ${clockTime(message.readAt)}`,
  ].filter(Boolean);
  const icon =
    status === "queued" || status === "sending" ? (
      <IconClock size={14} />
    ) : status === "sent" ? (
      <IconCheck size={14} />
    ) : status === "delivered" ? (
      <IconChecks size={14} />
    ) : status === "read" ? (
      <IconChecks size={14} color="var(--mantine-color-blue-5)" />
    ) : status === "failed" ? (
      <IconAlertCircle size={14} color="var(--mantine-color-red-6)" />
    ) : null;
  return (
    <Tooltip label={times.length ? `${label}: ${times.join(", ")}` : label} withArrow>
      <span className="status-ticks" role="img" aria-label={label} data-status={status}>
        {icon}
      </span>
    </Tooltip>
  );
}

function Quote({ original, onJump }: { original: MessageOut | null; onJump?: (id: string) => void }) {
  const text = original ? messageSummary(original) : "An earlier message";
  return (
    <UnstyledButton
      className="reply-quote"
      onClick={() => original && onJump?.(original.id)}
      aria-label={`Reply to: ${text}`}
      disabled={!original}
    >
      <Text size="xs" fw={600} c={original?.direction === "outbound" ? "teal" : "blue"}>
        {original ? (original.direction === "outbound" ? "You" : "Customer") : "Reply"}
      </Text>
      <Text size="xs" lineClamp={2} c="dimmed">
        {text}
      </Text>
    </UnstyledButton>
  );
}

function Reactions({ reactions }: { reactions: Reaction[] }) {
  const grouped = new Map<string, number>();
  for (const r of reactions) grouped.set(r.emoji, (grouped.get(r.emoji) ?? 0) + 1);
  return (
    <Group gap={2} className="reactions" aria-label={`Reactions: ${reactions.map((r) => r.emoji).join(" ")}`}>
      {[...grouped].map(([emoji, count]) => (
        <span key={emoji} className="reaction-chip">
          {emoji}
          {count > 1 ? <small> {count}</small> : null}
        </span>
      ))}
    </Group>
  );
}

export type MessageBubbleProps = {
  message: ThreadMessage;
  replyTo?: MessageOut | null;
  reactions?: Reaction[];
  onReply?: (message: MessageOut) => void;
  onReact?: (message: MessageOut, emoji: string) => void;
  onRetry?: (message: ThreadMessage) => void;
  onJump?: (id: string) => void;
  retrying?: boolean;
};

export const MessageBubble = memo(function MessageBubble({
  message,
  replyTo,
  reactions,
  onReply,
  onReact,
  onRetry,
  onJump,
  retrying,
}: MessageBubbleProps) {
  const [picker, setPicker] = useState(false);
  if (message.type === "system") {
    return (
      <Box className="system-message" data-message-id={message.id}>
        <MessageContent message={message} />
      </Box>
    );
  }
  const outbound = message.direction === "outbound";
  const failed = message.status === "failed" || Boolean(message.localError);
  const forwarded = obj(obj(message.content.meta).context).forwarded === true;
  const error = message.error;
  const reason =
    message.localError ?? error?.explanation ?? error?.title ?? error?.details ?? (failed ? "The message could not be sent." : null);
  const canAct = Boolean(message.wamid) && !message.pending;
  return (
    <Box
      className="bubble-row"
      data-direction={message.direction}
      data-message-id={message.id}
      data-status={failed ? "failed" : message.status}
    >
      <Stack gap={2} className="bubble-column">
        <Box className="bubble" data-direction={message.direction} data-failed={failed || undefined} data-pending={message.pending || undefined}>
          {forwarded && (
            <Text size="xs" c="dimmed" fs="italic" mb={2}>
              Forwarded
            </Text>
          )}
          {(message.replyToMessageId || message.replyToWamid) && <Quote original={replyTo ?? null} onJump={onJump} />}
          <MessageContent message={message} />
          <Group gap={4} justify="flex-end" className="bubble-meta">
            <Tooltip label={fullTime(message.createdAt)} withArrow openDelay={400}>
              <Text size="xs" c="dimmed" component="time" dateTime={message.createdAt}>
                {clockTime(message.createdAt)}
              </Text>
            </Tooltip>
            {outbound && <StatusTicks message={message} />}
          </Group>
        </Box>
        {reactions && reactions.length > 0 && <Reactions reactions={reactions} />}
        {failed && outbound && (
          <Box className="failure" role="alert">
            <Text size="xs" c="red.7" fw={500}>
              {error?.code ? `Not delivered (${error.code}): ` : "Not delivered: "}
              {reason}
            </Text>
            {onRetry && (
              <Button
                size="compact-xs"
                color="red"
                variant="light"
                leftSection={<IconRefresh size={12} />}
                onClick={() => onRetry(message)}
                loading={retrying}
                mt={4}
              >
                Retry
              </Button>
            )}
          </Box>
        )}
      </Stack>
      {canAct && (onReply || onReact) && (
        <Group gap={2} className="bubble-actions" wrap="nowrap">
          {onReact && (
            <Popover opened={picker} onChange={setPicker} position="top" withArrow shadow="md">
              <Popover.Target>
                <ActionIcon variant="subtle" color="gray" size="sm" aria-label="React" onClick={() => setPicker((o) => !o)}>
                  <IconMoodSmile size={16} />
                </ActionIcon>
              </Popover.Target>
              <Popover.Dropdown p={4}>
                <Group gap={2}>
                  {QUICK_REACTIONS.map((emoji) => (
                    <ActionIcon
                      key={emoji}
                      variant="subtle"
                      size="lg"
                      aria-label={`React with ${emoji}`}
                      onClick={() => {
                        setPicker(false);
                        onReact(message, emoji);
                      }}
                    >
                      <span style={{ fontSize: 20 }}>{emoji}</span>
                    </ActionIcon>
                  ))}
                </Group>
              </Popover.Dropdown>
            </Popover>
          )}
          {onReply && (
            <ActionIcon variant="subtle" color="gray" size="sm" aria-label="Reply" onClick={() => onReply(message)}>
              <IconArrowBackUp size={16} />
            </ActionIcon>
          )}
        </Group>
      )}
    </Box>
  );
});
