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
import {
  IconClockOff,
  IconLock,
  IconMoodSmile,
  IconNote,
  IconPaperclip,
  IconSend,
  IconTemplate,
  IconUpload,
} from "@tabler/icons-react";
import {
  forwardRef,
  useId,
  useImperativeHandle,
  useLayoutEffect,
  useRef,
  useState,
  type ClipboardEvent,
  type KeyboardEvent,
  type SyntheticEvent,
} from "react";
import { errorMessage } from "../../api/http";
import type { MessageOut, Template } from "../../api/resources";
import { ACCEPTED_FILES, precheck, type MediaUploadOut, type UploadOptions } from "../../api/upload";
import { initials, windowLeft } from "../../lib/format";
import { uuid } from "../../lib/id";
import { AttachmentChip, type Attachment } from "./AttachmentChip";
import {
  findTrigger,
  matchCanned,
  matchTeammates,
  mentionedIds,
  mentionHandle,
  replaceRange,
  type CannedLike,
  type Teammate,
  type Trigger,
} from "./composerTriggers";
import { messageSummary } from "./messageModel";
import { optionId, Suggestions, type Suggestion } from "./Suggestions";
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
  /** Private notes: with it, a Note mode posts here (never to WhatsApp); it rejects to keep the draft. */
  onSendNote?: (body: string, mentions: string[]) => Promise<void>;
  /** Who can be @mentioned in a note. */
  teammates?: Teammate[];
  meId?: string;
  /** Offered while typing `/code`. */
  cannedResponses?: CannedLike[];
  /** The text a canned response expands to here (its {{variables}} filled); its raw text without it. */
  onExpandCanned?: (shortCode: string) => Promise<string>;
  /** Uploads a picked (or pasted) file; then `onSendUpload` sends it. */
  onUploadFile?: (file: File, options: UploadOptions) => Promise<MediaUploadOut>;
  onDiscardUpload?: (uploadId: string) => unknown;
  onSendUpload?: (upload: MediaUploadOut, caption: string, file: File) => void | Promise<void>;
  /** Called as the agent types (for the "is typing" hint teammates see). */
  onTyping?: () => void;
};

function AttachFile({ onSend, onPick }: { onSend?: ComposerProps["onSendMedia"]; onPick?: (file: File) => void }) {
  const [opened, setOpened] = useState(false);
  const [kind, setKind] = useState<MediaKind>("image");
  const [link, setLink] = useState("");
  const [caption, setCaption] = useState("");
  const picker = useRef<HTMLInputElement>(null);
  const valid = /^https?:\/\/\S+$/.test(link.trim());
  return (
    <Popover opened={opened} onChange={setOpened} position="top-start" withArrow shadow="md" width={320} trapFocus>
      <Popover.Target>
        <Tooltip label="Attach a file">
          <ActionIcon variant="subtle" color="gray" size="lg" aria-label="Attach a file" onClick={() => setOpened((o) => !o)}>
            <IconPaperclip size={20} />
          </ActionIcon>
        </Tooltip>
      </Popover.Target>
      <Popover.Dropdown>
        <Stack gap="xs">
          {onPick && (
            <>
              <Button size="xs" variant="light" leftSection={<IconUpload size={16} />} onClick={() => picker.current?.click()}>
                Upload from this device
              </Button>
              <input
                ref={picker}
                type="file"
                hidden
                accept={ACCEPTED_FILES}
                aria-label="Choose a file to upload"
                data-testid="file-input"
                onChange={(event) => {
                  const file = event.currentTarget.files?.[0];
                  event.currentTarget.value = "";
                  if (file) {
                    setOpened(false);
                    onPick(file);
                  }
                }}
              />
              <Text size="xs" c="dimmed">
                Images up to 5 MB, video and audio up to 16 MB, documents up to 100 MB.
              </Text>
            </>
          )}
          {onSend && (
            <>
              {onPick && (
                <Text size="xs" fw={600} mt={4}>
                  Or send a file by its link
                </Text>
              )}
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
            </>
          )}
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
}

const CAPTIONED: MediaUploadOut["kind"][] = ["image", "video", "document"];

/**
 * Writes to the customer, or to the team. Reply mode, inside the 24-hour window: free text (Enter sends,
 * Shift+Enter adds a line), `/code` canned responses, emoji, attachments (uploaded or by link) and replies.
 * Outside it: a banner and the template picker, since WhatsApp only delivers approved templates then. Note
 * mode: a private note for the team with @mentions, never sent to WhatsApp (and possible in any window).
 */
export const Composer = forwardRef<ComposerHandle, ComposerProps>(function Composer(props, ref) {
  const [text, setText] = useState("");
  const [noteText, setNoteText] = useState("");
  const [noteMode, setNoteMode] = useState(false);
  const [mode, setMode] = useState<"text" | "template">("text");
  const [emojiOpen, setEmojiOpen] = useState(false);
  const [sending, setSending] = useState(false);
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [attachment, setAttachment] = useState<(Attachment & { file: File; upload?: MediaUploadOut }) | null>(null);
  const uploadAbort = useRef<AbortController | null>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const noteInput = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  useImperativeHandle(ref, () => ({ focus: () => (noteMode ? noteInput : input).current?.focus() }), [noteMode]);

  const showTemplates = !props.windowOpen || mode === "template";
  const draft = noteMode ? noteText : text;
  const setDraft = noteMode ? setNoteText : setText;

  // --- suggestions: `/code` in a reply, `@name` in a note --------------------------------------------------
  const trigger: Trigger | null = findTrigger(draft, caret, {
    canned: !noteMode && (props.cannedResponses?.length ?? 0) > 0,
    mention: noteMode && (props.teammates?.length ?? 0) > 0,
  });
  const triggerKey = trigger ? `${trigger.kind}:${trigger.start}:${trigger.query}` : null;
  const cannedMatches = trigger?.kind === "canned" ? matchCanned(props.cannedResponses ?? [], trigger.query) : [];
  const mentionMatches = trigger?.kind === "mention" ? matchTeammates(props.teammates ?? [], trigger.query, props.meId) : [];
  const suggestions: Suggestion[] =
    trigger?.kind === "canned"
      ? cannedMatches.map((c) => ({
          key: c.id,
          primary: `/${c.shortCode}${c.title ? ` · ${c.title}` : ""}`,
          secondary: c.body,
          label: `/${c.shortCode}${c.title ? `, ${c.title}` : ""}`,
        }))
      : mentionMatches.map((t) => ({
          key: t.id,
          primary: t.name,
          secondary: `@${mentionHandle(t)}`,
          avatar: initials(t.name),
          label: `${t.name}, @${mentionHandle(t)}`,
        }));
  const suggesting = suggestions.length > 0 && triggerKey !== dismissed;
  const activeIndex = Math.min(active, Math.max(suggestions.length - 1, 0));

  const track = (event: SyntheticEvent<HTMLTextAreaElement>) => setCaret(event.currentTarget.selectionStart ?? 0);

  const edit = (value: string, at: number) => {
    setDraft(value);
    setCaret(at);
    setActive(0);
    setProblem(null);
    if (value) props.onTyping?.();
  };

  // Where the caret goes once the text just set is in the textarea: placed in the same commit, so a key typed
  // right after choosing a mention lands after it (placed a frame later, a fast typist's first key did not).
  const pendingCaret = useRef<{ el: HTMLTextAreaElement | null; at: number } | null>(null);
  useLayoutEffect(() => {
    const pending = pendingCaret.current;
    if (!pending) return;
    pendingCaret.current = null;
    pending.el?.focus();
    pending.el?.setSelectionRange(pending.at, pending.at);
  });
  const placeCaret = (el: HTMLTextAreaElement | null, at: number) => {
    pendingCaret.current = { el, at };
  };

  const choose = async (index: number) => {
    if (!trigger) return;
    const el = (noteMode ? noteInput : input).current;
    if (trigger.kind === "mention") {
      const teammate = mentionMatches[index];
      if (!teammate) return;
      const next = replaceRange(draft, trigger.start, trigger.end, `@${mentionHandle(teammate)} `);
      edit(next.text, next.caret);
      placeCaret(el, next.caret);
      return;
    }
    const canned = cannedMatches[index];
    if (!canned) return;
    let body = canned.body;
    if (props.onExpandCanned) {
      try {
        body = await props.onExpandCanned(canned.shortCode);
      } catch (error) {
        setProblem(`/${canned.shortCode} could not be expanded: ${errorMessage(error)}`);
        return;
      }
    }
    const next = replaceRange(text, trigger.start, trigger.end, body);
    edit(next.text, next.caret);
    placeCaret(el, next.caret);
  };

  // --- attachments -----------------------------------------------------------------------------------------
  const pick = (file: File) => {
    if (!props.onUploadFile) return;
    uploadAbort.current?.abort();
    const check = precheck(file);
    const key = uuid();
    const base = { key, name: file.name, size: file.size, kind: check.kind, file, progress: 0 };
    if (check.problem) {
      setAttachment({ ...base, status: "failed", error: check.problem });
      return;
    }
    const controller = new AbortController();
    uploadAbort.current = controller;
    setAttachment({ ...base, status: "uploading" });
    props
      .onUploadFile(file, {
        signal: controller.signal,
        onProgress: (progress) => setAttachment((a) => (a?.key === key ? { ...a, progress } : a)),
      })
      .then(
        (upload) =>
          setAttachment((a) =>
            a?.key === key ? { ...a, status: "ready", progress: 1, kind: upload.kind, uploadId: upload.id, upload } : a,
          ),
        (error: unknown) => {
          if (controller.signal.aborted) return;
          setAttachment((a) => (a?.key === key ? { ...a, status: "failed", error: errorMessage(error) } : a));
        },
      );
    input.current?.focus();
  };

  const removeAttachment = () => {
    uploadAbort.current?.abort();
    uploadAbort.current = null;
    if (attachment?.uploadId) void props.onDiscardUpload?.(attachment.uploadId);
    setAttachment(null);
    input.current?.focus();
  };

  const onPaste = (event: ClipboardEvent<HTMLTextAreaElement>) => {
    const file = event.clipboardData?.files?.[0];
    if (file && props.onUploadFile) {
      event.preventDefault();
      pick(file);
    }
  };

  // --- sending ---------------------------------------------------------------------------------------------
  const sendReply = async () => {
    const body = text.trim();
    const ready = attachment?.status === "ready" ? attachment : null;
    if (!body && !ready) return;
    if (attachment && !ready) return; // still uploading, or failed: the chip says why
    setText("");
    setCaret(0);
    if (ready?.upload && props.onSendUpload) {
      setAttachment(null);
      uploadAbort.current = null;
      const captioned = CAPTIONED.includes(ready.upload.kind);
      await props.onSendUpload(ready.upload, captioned ? body : "", ready.file);
      // Audio and stickers have no caption on WhatsApp: the text follows as its own message.
      if (!captioned && body) await props.onSendText(body);
    } else {
      await props.onSendText(body);
    }
    input.current?.focus();
  };

  const sendNote = async () => {
    const body = noteText.trim();
    if (!body || !props.onSendNote || sending) return;
    setSending(true);
    try {
      await props.onSendNote(body, mentionedIds(body, props.teammates ?? []));
      setNoteText("");
      setCaret(0);
    } catch (error) {
      setProblem(`The note was not added: ${errorMessage(error)}`);
    } finally {
      setSending(false);
      noteInput.current?.focus();
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (suggesting) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        setActive((activeIndex + step + suggestions.length) % suggestions.length);
        return;
      }
      if ((event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) || event.key === "Tab") {
        event.preventDefault();
        void choose(activeIndex);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        setDismissed(triggerKey);
        return;
      }
    }
    // Never send in the middle of an IME composition (emoji pickers, CJK input).
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void (noteMode ? sendNote() : sendReply());
    } else if (event.key === "Escape") {
      event.preventDefault();
      if (props.replyTo && !noteMode) props.onCancelReply?.();
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

  const suggestionList = suggesting && (
    <Suggestions
      id={listId}
      title={trigger?.kind === "canned" ? "Canned responses" : "Mention a teammate"}
      items={suggestions}
      active={activeIndex}
      onChoose={(index) => void choose(index)}
      onHover={setActive}
    />
  );
  // A text box with a list: it keeps the focus, the list follows the arrow keys (aria-activedescendant).
  const suggestionProps = {
    "aria-autocomplete": "list" as const,
    "aria-controls": suggesting ? listId : undefined,
    "aria-activedescendant": suggesting ? optionId(listId, activeIndex) : undefined,
  };
  const problemAlert = problem && (
    <Alert color="red" variant="light" py={6} withCloseButton onClose={() => setProblem(null)} closeButtonLabel="Dismiss">
      <Text size="xs">{problem}</Text>
    </Alert>
  );
  const modeSwitch = props.onSendNote && (
    <SegmentedControl
      size="xs"
      mb="xs"
      value={noteMode ? "note" : "reply"}
      onChange={(value) => {
        const note = value === "note";
        setNoteMode(note);
        setProblem(null);
        setCaret(0);
        requestAnimationFrame(() => (note ? noteInput : input).current?.focus());
      }}
      aria-label="Write a reply or a private note"
      data={[
        { value: "reply", label: "Reply" },
        {
          value: "note",
          label: (
            <Group gap={4} wrap="nowrap" justify="center">
              <IconLock size={12} />
              <span>Private note</span>
            </Group>
          ),
        },
      ]}
    />
  );

  if (noteMode) {
    return (
      <Box className="composer" p="sm" data-mode="note">
        {modeSwitch}
        <Stack gap={6}>
          {suggestionList}
          {problemAlert}
          <Group gap={4} align="flex-end" wrap="nowrap">
            <Textarea
              ref={noteInput}
              value={noteText}
              onChange={(e) => edit(e.currentTarget.value, e.currentTarget.selectionStart ?? e.currentTarget.value.length)}
              onSelect={track}
              onKeyDown={onKeyDown}
              placeholder="Write a private note for your team. Type @ to mention someone."
              aria-label="Note"
              autosize
              minRows={1}
              maxRows={8}
              maxLength={10000}
              style={{ flex: 1 }}
              classNames={{ input: "note-input" }}
              data-testid="note-input"
              {...suggestionProps}
            />
            <Tooltip label="Add the note (only your team sees it)">
              <ActionIcon
                size={36}
                radius="xl"
                color="yellow"
                variant="filled"
                aria-label="Add note"
                onClick={() => void sendNote()}
                disabled={!noteText.trim()}
                loading={sending}
              >
                <IconNote size={18} />
              </ActionIcon>
            </Tooltip>
          </Group>
          <Text size="10px" c="dimmed" px={4}>
            Private: never sent to WhatsApp · Enter to add · Shift+Enter for a new line
          </Text>
        </Stack>
      </Box>
    );
  }

  if (props.blockedReason) {
    return (
      <Box className="composer" p="sm">
        {modeSwitch}
        <Alert color="red" variant="light" role="status">
          {props.blockedReason}
        </Alert>
      </Box>
    );
  }

  const left = windowLeft(props.windowExpiresAt);
  const captioned = !attachment || CAPTIONED.includes(attachment.kind);
  const canSend = attachment ? attachment.status === "ready" : Boolean(text.trim());
  return (
    <Box className="composer" p="sm" data-window={props.windowOpen ? "open" : "closed"} data-mode="reply">
      {modeSwitch}
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
          {attachment && <AttachmentChip attachment={attachment} onRemove={removeAttachment} />}
          {suggestionList}
          {problemAlert}
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
            {(props.onSendMedia || props.onUploadFile) && (
              <AttachFile onSend={props.onSendMedia} onPick={props.onUploadFile ? pick : undefined} />
            )}
            <Tooltip label="Send a template">
              <ActionIcon variant="subtle" color="gray" size="lg" aria-label="Send a template" onClick={() => setMode("template")}>
                <IconTemplate size={20} />
              </ActionIcon>
            </Tooltip>
            <Textarea
              ref={input}
              value={text}
              onChange={(e) => edit(e.currentTarget.value, e.currentTarget.selectionStart ?? e.currentTarget.value.length)}
              onSelect={track}
              onKeyDown={onKeyDown}
              onPaste={onPaste}
              placeholder={
                attachment
                  ? captioned
                    ? "Add a caption (optional)"
                    : `Add a message (sent after the ${attachment.kind})`
                  : (props.cannedResponses?.length ?? 0) > 0
                    ? "Type a message, or / for canned responses"
                    : "Type a message"
              }
              aria-label="Message"
              autosize
              minRows={1}
              maxRows={8}
              maxLength={attachment && captioned ? 1024 : 4096}
              style={{ flex: 1 }}
              data-testid="composer-input"
              {...suggestionProps}
            />
            <ActionIcon size={36} radius="xl" aria-label="Send" onClick={() => void sendReply()} disabled={!canSend}>
              <IconSend size={18} />
            </ActionIcon>
          </Group>
          <Text size="10px" c="dimmed" px={4}>
            Enter to send · Shift+Enter for a new line{(props.cannedResponses?.length ?? 0) > 0 ? " · / for canned responses" : ""}
            {left ? ` · window ${left}` : ""}
          </Text>
        </Stack>
      )}
    </Box>
  );
});
