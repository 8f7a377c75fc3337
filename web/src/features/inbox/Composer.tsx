import {
  ActionIcon,
  Alert,
  Box,
  Button,
  CloseButton,
  Group,
  Popover,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  TextInput,
  Tooltip,
  UnstyledButton,
} from "@mantine/core";
import { IconClockOff, IconMoodSmile, IconPaperclip, IconSend, IconTemplate } from "@tabler/icons-react";
import { forwardRef, useImperativeHandle, useRef, useState, type KeyboardEvent } from "react";
import type { MessageOut, Template } from "../../api/resources";
import { windowLeft } from "../../lib/format";
import { messageSummary } from "./messageModel";
import { TemplatePicker, type TemplateSend } from "./TemplatePicker";

const EMOJI = ["😀", "😂", "😊", "😍", "🙏", "👍", "👏", "🎉", "❤️", "🔥", "✅", "🙌", "😉", "🤔", "😢", "😮", "📦", "🚚", "💬", "⭐"];

export type MediaKind = "image" | "video" | "audio" | "document";

export type ComposerHandle = { focus: () => void };

export type ComposerProps = {
  windowOpen: boolean;
  windowExpiresAt?: string | null;
  templates: Template[] | undefined;
  templatesLoading?: boolean;
  templatesUnavailable?: string | null;
  /** Why nothing can be sent at all (opted out, blocked, archived number…). */
  blockedReason?: string | null;
  replyTo?: MessageOut | null;
  onCancelReply?: () => void;
  onSendText: (text: string) => void | Promise<void>;
  onSendTemplate: (template: TemplateSend, preview: string) => void | Promise<void>;
  onSendMedia?: (kind: MediaKind, link: string, caption: string) => void | Promise<void>;
  onEscape?: () => void;
};

function AttachByLink({ onSend }: { onSend: NonNullable<ComposerProps["onSendMedia"]> }) {
  const [opened, setOpened] = useState(false);
  const [kind, setKind] = useState<MediaKind>("image");
  const [link, setLink] = useState("");
  const [caption, setCaption] = useState("");
  const valid = /^https?:\/\/\S+$/.test(link.trim());
  return (
    <Popover opened={opened} onChange={setOpened} position="top-start" withArrow shadow="md" width={320} trapFocus>
      <Popover.Target>
        <Tooltip label="Attach a file by link">
          <ActionIcon variant="subtle" color="gray" size="lg" aria-label="Attach a file" onClick={() => setOpened((o) => !o)}>
            <IconPaperclip size={20} />
          </ActionIcon>
        </Tooltip>
      </Popover.Target>
      <Popover.Dropdown>
        <Stack gap="xs">
          <SegmentedControl
            size="xs"
            value={kind}
            onChange={(v) => setKind(v as MediaKind)}
            data={[
              { value: "image", label: "Image" },
              { value: "video", label: "Video" },
              { value: "audio", label: "Audio" },
              { value: "document", label: "Document" },
            ]}
          />
          <TextInput size="xs" label="File link (public https URL)" placeholder="https://…" value={link} onChange={(e) => setLink(e.currentTarget.value)} />
          {kind !== "audio" && (
            <TextInput size="xs" label="Caption" value={caption} onChange={(e) => setCaption(e.currentTarget.value)} />
          )}
          <Button
            size="xs"
            disabled={!valid}
            onClick={() => {
              void onSend(kind, link.trim(), caption.trim());
              setOpened(false);
              setLink("");
              setCaption("");
            }}
          >
            Send {kind}
          </Button>
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
}

/**
 * Writes to the customer. Inside the 24-hour window: free text (Enter sends, Shift+Enter adds a line), emoji,
 * attachments and replies. Outside it: a banner and the template picker, since WhatsApp only delivers
 * approved templates then.
 */
export const Composer = forwardRef<ComposerHandle, ComposerProps>(function Composer(props, ref) {
  const [text, setText] = useState("");
  const [mode, setMode] = useState<"text" | "template">("text");
  const [emojiOpen, setEmojiOpen] = useState(false);
  const [sending, setSending] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);
  useImperativeHandle(ref, () => ({ focus: () => input.current?.focus() }), []);

  const showTemplates = !props.windowOpen || mode === "template";

  const send = async () => {
    const body = text.trim();
    if (!body) return;
    setText("");
    await props.onSendText(body);
    input.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    // Never send in the middle of an IME composition (emoji pickers, CJK input).
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    } else if (event.key === "Escape") {
      event.preventDefault();
      if (props.replyTo) props.onCancelReply?.();
      else props.onEscape?.();
    }
  };

  const insertEmoji = (emoji: string) => {
    const el = input.current;
    const start = el?.selectionStart ?? text.length;
    const end = el?.selectionEnd ?? text.length;
    const next = text.slice(0, start) + emoji + text.slice(end);
    setText(next);
    setEmojiOpen(false);
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(start + emoji.length, start + emoji.length);
    });
  };

  if (props.blockedReason) {
    return (
      <Box className="composer" p="sm">
        <Alert color="red" variant="light" role="status">
          {props.blockedReason}
        </Alert>
      </Box>
    );
  }

  const left = windowLeft(props.windowExpiresAt);
  return (
    <Box className="composer" p="sm" data-window={props.windowOpen ? "open" : "closed"}>
      {!props.windowOpen && (
        <Alert
          color="orange"
          variant="light"
          icon={<IconClockOff size={18} />}
          title="The 24-hour customer window is closed"
          mb="sm"
          py={8}
          role="status"
          data-testid="window-closed-banner"
        >
          <Text size="xs">
            WhatsApp only delivers approved templates until the customer writes again. Send a template to restart the
            conversation.
          </Text>
        </Alert>
      )}
      {showTemplates ? (
        <Stack gap="xs">
          {props.windowOpen && (
            <Group justify="space-between">
              <Text size="sm" fw={600}>
                Send a template
              </Text>
              <CloseButton aria-label="Back to text" onClick={() => setMode("text")} />
            </Group>
          )}
          <TemplatePicker
            templates={props.templates}
            loading={props.templatesLoading}
            unavailable={props.templatesUnavailable}
            sending={sending}
            onSend={async (template, preview) => {
              setSending(true);
              try {
                await props.onSendTemplate(template, preview);
                setMode("text");
              } finally {
                setSending(false);
              }
            }}
          />
        </Stack>
      ) : (
        <Stack gap={6}>
          {props.replyTo && (
            <Group className="reply-chip" justify="space-between" wrap="nowrap" data-testid="reply-chip">
              <Box style={{ minWidth: 0 }}>
                <Text size="xs" fw={600} c="teal">
                  Replying to {props.replyTo.direction === "outbound" ? "yourself" : "the customer"}
                </Text>
                <Text size="xs" c="dimmed" truncate="end">
                  {messageSummary(props.replyTo)}
                </Text>
              </Box>
              <CloseButton size="sm" aria-label="Cancel reply" onClick={props.onCancelReply} />
            </Group>
          )}
          <Group gap={4} align="flex-end" wrap="nowrap">
            <Popover opened={emojiOpen} onChange={setEmojiOpen} position="top-start" withArrow shadow="md">
              <Popover.Target>
                <ActionIcon variant="subtle" color="gray" size="lg" aria-label="Insert emoji" onClick={() => setEmojiOpen((o) => !o)}>
                  <IconMoodSmile size={20} />
                </ActionIcon>
              </Popover.Target>
              <Popover.Dropdown p={6}>
                <SimpleGrid cols={5} spacing={2}>
                  {EMOJI.map((emoji) => (
                    <UnstyledButton key={emoji} className="emoji-button" aria-label={`Insert ${emoji}`} onClick={() => insertEmoji(emoji)}>
                      {emoji}
                    </UnstyledButton>
                  ))}
                </SimpleGrid>
              </Popover.Dropdown>
            </Popover>
            {props.onSendMedia && <AttachByLink onSend={props.onSendMedia} />}
            <Tooltip label="Send a template">
              <ActionIcon variant="subtle" color="gray" size="lg" aria-label="Send a template" onClick={() => setMode("template")}>
                <IconTemplate size={20} />
              </ActionIcon>
            </Tooltip>
            <Textarea
              ref={input}
              value={text}
              onChange={(e) => setText(e.currentTarget.value)}
              onKeyDown={onKeyDown}
              placeholder="Type a message"
              aria-label="Message"
              autosize
              minRows={1}
              maxRows={8}
              maxLength={4096}
              style={{ flex: 1 }}
              data-testid="composer-input"
            />
            <ActionIcon size={36} radius="xl" aria-label="Send" onClick={() => void send()} disabled={!text.trim()}>
              <IconSend size={18} />
            </ActionIcon>
          </Group>
          <Text size="10px" c="dimmed" px={4}>
            Enter to send · Shift+Enter for a new line{left ? ` · window ${left}` : ""}
          </Text>
        </Stack>
      )}
    </Box>
  );
});
