import { Box, Center, Loader, Skeleton, Stack, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { forwardRef, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { applyConversation, applyMessage, keys } from "../../api/cache";
import {
  addNote,
  announcePresence,
  applyNote,
  deleteNote,
  expandCanned,
  listNotes,
  removeNote,
  useCannedResponses,
  type NoteOut,
} from "../../api/collaboration";
import { usePhoneNumbers, useTemplates, useUsers } from "../../api/hooks";
import { ApiError, errorMessage } from "../../api/http";
import { discardUpload, uploadMedia, type MediaUploadOut } from "../../api/upload";
import {
  listMessages,
  markConversationRead,
  retryMessage,
  sendMessage,
  type ConversationOut,
  type MessageOut,
  type SendMessageIn,
} from "../../api/resources";
import { useAuth } from "../../auth/AuthProvider";
import { dayLabel, sameDay } from "../../lib/format";
import { uuid } from "../../lib/id";
import { Composer, type ComposerHandle, type MediaKind } from "./Composer";
import type { Teammate } from "./composerTriggers";
import { primeMedia } from "./media";
import { MessageBubble, type ThreadMessage } from "./MessageBubble";
import { isFoldedReaction, reactionsByMessage } from "./messageModel";
import { NoteBubble } from "./NoteBubble";
import type { TemplateSend } from "./TemplatePicker";

type Pending = { body: SendMessageIn; key: string; preview?: string };
/** What the thread shows, in time order: the conversation's messages and the team's private notes. */
type Entry = { kind: "message"; id: string; at: string; message: ThreadMessage } | { kind: "note"; id: string; at: string; note: NoteOut };

// The "viewing" hint is repeated this often (it expires on the other clients after 8 s).
const VIEWING_EVERY_MS = 5000;
const TYPING_EVERY_MS = 3000;

function byTime(a: MessageOut, b: MessageOut): number {
  return a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);
}

export type ThreadProps = { conversation: ConversationOut; onEscape?: () => void };

/** The messages of one conversation, oldest at the top, with the composer below. */
export const Thread = forwardRef<ComposerHandle, ThreadProps>(function Thread({ conversation, onEscape }, composerRef) {
  const queryClient = useQueryClient();
  const { user, isAdmin } = useAuth();
  const id = conversation.id;
  const scrollRef = useRef<HTMLDivElement>(null);
  const anchor = useRef<{ height: number; top: number } | null>(null);
  const stick = useRef(true);
  const pending = useRef(new Map<string, Pending>());
  const [replyTo, setReplyTo] = useState<MessageOut | null>(null);
  const templates = useTemplates();
  const numbers = usePhoneNumbers();
  // Templates belong to a WhatsApp Business Account: offer only those of the number this conversation is on.
  const waba = numbers.data?.find((n) => n.id === conversation.phoneNumber.id)?.wabaId;
  const usableTemplates = useMemo(
    () => templates.data?.filter((t) => !waba || t.wabaId === waba),
    [templates.data, waba],
  );

  const thread = useInfiniteQuery({
    queryKey: keys.thread(id),
    queryFn: ({ pageParam }) => listMessages(id, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    staleTime: Infinity, // the live stream keeps it current
  });
  const notes = useInfiniteQuery({
    queryKey: keys.notes(id),
    queryFn: ({ pageParam }) => listNotes(id, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    staleTime: Infinity,
  });
  const users = useUsers();
  const canned = useCannedResponses();
  const teammates: Teammate[] = useMemo(
    () => (users.data ?? []).filter((u) => u.isActive).map((u) => ({ id: u.id, name: u.name, email: u.email })),
    [users.data],
  );
  const allTeammates: Teammate[] = useMemo(
    () => (users.data ?? []).map((u) => ({ id: u.id, name: u.name, email: u.email })),
    [users.data],
  );

  const messages = useMemo(() => {
    const all = (thread.data?.pages ?? []).flatMap((p) => p.items) as ThreadMessage[];
    return [...all].sort(byTime);
  }, [thread.data]);
  const byId = useMemo(() => new Map(messages.map((m) => [m.id, m])), [messages]);
  const byWamid = useMemo(() => new Map(messages.filter((m) => m.wamid).map((m) => [m.wamid as string, m])), [messages]);
  const reactions = useMemo(() => reactionsByMessage(messages), [messages]);
  const visibleMessages = useMemo(() => {
    const wamids = new Set(byWamid.keys());
    return messages.filter((m) => !isFoldedReaction(m, wamids));
  }, [messages, byWamid]);

  // Notes load newest first like messages; a note older than the oldest loaded message waits until that part
  // of the thread is loaded, so scrolling back shows both in order.
  const allNotes = useMemo(() => (notes.data?.pages ?? []).flatMap((p) => p.items), [notes.data]);
  const oldestMessageAt = messages[0]?.createdAt;
  const visible: Entry[] = useMemo(() => {
    const shownNotes = thread.hasNextPage && oldestMessageAt ? allNotes.filter((n) => n.createdAt >= oldestMessageAt) : allNotes;
    const entries: Entry[] = [
      ...visibleMessages.map((m): Entry => ({ kind: "message", id: m.id, at: m.createdAt, message: m })),
      ...shownNotes.map((n): Entry => ({ kind: "note", id: n.id, at: n.createdAt, note: n })),
    ];
    return entries.sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id));
  }, [visibleMessages, allNotes, thread.hasNextPage, oldestMessageAt]);
  const oldestNoteAt = allNotes[allNotes.length - 1]?.createdAt;
  const { hasNextPage: moreNotes, isFetchingNextPage: fetchingNotes, fetchNextPage: fetchMoreNotes } = notes;
  useEffect(() => {
    if (!moreNotes || fetchingNotes || !thread.isSuccess) return;
    if (!thread.hasNextPage || (oldestNoteAt && oldestMessageAt && oldestNoteAt >= oldestMessageAt)) void fetchMoreNotes();
  }, [moreNotes, fetchingNotes, fetchMoreNotes, thread.isSuccess, thread.hasNextPage, oldestNoteAt, oldestMessageAt]);

  // --- scrolling: start at the bottom, follow new messages when at the bottom, keep the place when older load.
  const lastId = visible[visible.length - 1]?.id;
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    if (anchor.current) {
      el.scrollTop = el.scrollHeight - anchor.current.height + anchor.current.top;
      anchor.current = null;
      return;
    }
    if (stick.current) el.scrollTop = el.scrollHeight;
  }, [visible.length, lastId]);

  useEffect(() => {
    stick.current = true;
    setReplyTo(null);
  }, [id]);

  const { hasNextPage, isFetchingNextPage, fetchNextPage } = thread;
  const onScroll = () => {
    const el = scrollRef.current;
    if (!el) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    if (el.scrollTop < 150 && hasNextPage && !isFetchingNextPage) {
      anchor.current = { height: el.scrollHeight, top: el.scrollTop };
      void fetchNextPage();
    }
  };

  // --- read receipts: whatever is on screen while the tab is visible counts as seen.
  const markRead = useMutation({
    mutationFn: () => markConversationRead(id),
    onSuccess: (updated) => {
      applyConversation(queryClient, updated);
      void queryClient.invalidateQueries({ queryKey: keys.stats });
    },
    meta: { silent: true },
  });
  const unread = conversation.unreadCount;
  const markReadRef = useRef(markRead.mutate);
  markReadRef.current = markRead.mutate;
  useEffect(() => {
    if (unread === 0 || !thread.isSuccess) return;
    const mark = () => {
      if (document.visibilityState === "visible") markReadRef.current();
    };
    const timer = setTimeout(mark, 400);
    document.addEventListener("visibilitychange", mark);
    return () => {
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", mark);
    };
  }, [id, unread, thread.isSuccess]);

  // --- sending, optimistic: a local copy shows at once and is replaced by the server's message.
  const deliver = useCallback(
    async (tempId: string, job: Pending) => {
      try {
        const saved = await sendMessage(job.body, job.key);
        pending.current.delete(tempId);
        if (job.preview) primeMedia(saved.id, job.preview);
        applyMessage(queryClient, saved, tempId);
      } catch (error) {
        const existing = queryClient
          .getQueryData<{ pages: { items: ThreadMessage[] }[] }>(keys.thread(id))
          ?.pages.flatMap((p) => p.items)
          .find((m) => m.id === tempId);
        if (existing) applyMessage(queryClient, { ...existing, pending: false, localError: errorMessage(error) } as ThreadMessage);
        if (error instanceof ApiError && error.code === "customer_window_closed") {
          void queryClient.invalidateQueries({ queryKey: keys.conversation(id) });
        }
        notifications.show({ color: "red", title: "Message not sent", message: errorMessage(error) });
      }
    },
    [queryClient, id],
  );

  const submit = useCallback(
    (body: SendMessageIn, content: Record<string, unknown>, preview?: string) => {
      const tempId = `local-${uuid()}`;
      const job = { body, key: uuid(), preview };
      if (preview) primeMedia(tempId, preview);
      pending.current.set(tempId, job);
      const now = new Date().toISOString();
      const optimistic: ThreadMessage = {
        id: tempId,
        conversationId: id,
        contactId: conversation.contact.id,
        phoneNumberId: conversation.phoneNumber.id,
        direction: "outbound",
        type: body.type,
        content,
        wamid: null,
        status: "queued",
        error: null,
        createdAt: now,
        senderUserId: user?.id ?? null,
        replyToMessageId: body.replyToMessageId ?? null,
        replyToWamid: replyTo?.wamid ?? null,
        reactions: [],
        sentAt: null,
        deliveredAt: null,
        readAt: null,
        failedAt: null,
        pending: true,
      };
      stick.current = true;
      applyMessage(queryClient, optimistic);
      setReplyTo(null);
      return deliver(tempId, job);
    },
    [conversation, deliver, id, queryClient, replyTo, user],
  );

  const sendText = (text: string) =>
    submit(
      { conversationId: id, type: "text", text, replyToMessageId: replyTo?.id ?? undefined },
      { body: text, preview_url: false },
    );
  const sendTemplate = (template: TemplateSend, preview: string) =>
    submit(
      { conversationId: id, type: "template", template: { name: template.name, language: template.language, components: template.components } },
      { name: template.name, language: { code: template.language }, components: template.components, rendered: preview },
    );
  const sendMedia = (kind: MediaKind, link: string, caption: string) =>
    submit(
      {
        conversationId: id,
        type: kind,
        [kind]: { link, caption: caption || undefined, filename: kind === "document" ? link.split("/").pop()?.split("?")[0] : undefined },
        replyToMessageId: replyTo?.id ?? undefined,
      } as SendMessageIn,
      { link, ...(caption ? { caption } : {}) },
    );

  const sendUpload = (upload: MediaUploadOut, caption: string, file: File) => {
    const kind = upload.kind;
    const previewable = kind === "image" || kind === "sticker" || kind === "video" || kind === "audio";
    return submit(
      {
        conversationId: id,
        type: kind,
        [kind]: { uploadId: upload.id, caption: caption || undefined },
        replyToMessageId: replyTo?.id ?? undefined,
      } as SendMessageIn,
      {
        ...(caption ? { caption } : {}),
        ...(kind === "document" ? { filename: upload.filename } : {}),
        media: { stored: true, uploadId: upload.id, mimeType: upload.mimeType, size: upload.size, filename: upload.filename },
      },
      // The picked file itself shows at once, and stays as the sent message's preview.
      previewable ? URL.createObjectURL(file) : undefined,
    );
  };

  // --- private notes --------------------------------------------------------------------------------------
  const sendNote = useCallback(
    async (body: string, mentions: string[]) => {
      try {
        const note = await addNote(id, body, mentions);
        stick.current = true;
        applyNote(queryClient, note);
      } catch (error) {
        notifications.show({ color: "red", title: "Note not added", message: errorMessage(error) });
        throw error;
      }
    },
    [id, queryClient],
  );
  const removeNoteMutation = useMutation({
    mutationFn: (note: NoteOut) => deleteNote(id, note.id),
    onSuccess: (_answer, note) => removeNote(queryClient, id, note.id),
  });
  const onDeleteNote = useCallback(
    (note: NoteOut) => {
      if (window.confirm("Delete this private note?")) removeNoteMutation.mutate(note);
    },
    [removeNoteMutation],
  );
  const expand = useCallback(async (code: string) => (await expandCanned(`/${code}`, id)).text, [id]);

  // --- collision hints: tell teammates this conversation is open here, and when this agent types.
  const lastTyping = useRef(0);
  useEffect(() => {
    let stopped = false;
    const announce = (state: "viewing" | "typing" | "idle") => {
      if (!stopped || state === "idle") void announcePresence(id, state).catch(() => undefined);
    };
    const viewing = () => {
      // While typing, "typing" is what teammates should keep seeing.
      if (document.visibilityState === "visible" && Date.now() - lastTyping.current > TYPING_EVERY_MS + 1000) announce("viewing");
    };
    viewing();
    const timer = setInterval(viewing, VIEWING_EVERY_MS);
    document.addEventListener("visibilitychange", viewing);
    return () => {
      stopped = true;
      clearInterval(timer);
      document.removeEventListener("visibilitychange", viewing);
      announce("idle");
    };
  }, [id]);
  const onTyping = useCallback(() => {
    const now = Date.now();
    if (now - lastTyping.current < TYPING_EVERY_MS) return;
    lastTyping.current = now;
    void announcePresence(id, "typing").catch(() => undefined);
  }, [id]);

  const react = useMutation({
    mutationFn: ({ message, emoji }: { message: MessageOut; emoji: string }) =>
      sendMessage({ conversationId: id, type: "reaction", reaction: { messageId: message.id, emoji } }, uuid()),
    onSuccess: (saved) => applyMessage(queryClient, saved),
  });

  const [retrying, setRetrying] = useState<string | null>(null);
  const retry = useCallback(
    async (message: ThreadMessage) => {
      setRetrying(message.id);
      try {
        const job = pending.current.get(message.id);
        if (job) {
          applyMessage(queryClient, { ...message, localError: undefined, pending: true } as ThreadMessage);
          await deliver(message.id, job);
        } else {
          applyMessage(queryClient, await retryMessage(message.id));
        }
      } catch (error) {
        notifications.show({ color: "red", title: "Retry failed", message: errorMessage(error) });
      } finally {
        setRetrying(null);
      }
    },
    [deliver, queryClient],
  );

  const jump = useCallback((messageId: string) => {
    const el = scrollRef.current?.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(messageId)}"]`);
    if (!el) return;
    el.scrollIntoView({ block: "center", behavior: "smooth" });
    el.classList.add("flash");
    setTimeout(() => el.classList.remove("flash"), 1200);
  }, []);

  const onReply = useCallback(
    (message: MessageOut) => {
      setReplyTo(message);
      requestAnimationFrame(() => (composerRef as React.RefObject<ComposerHandle> | null)?.current?.focus());
    },
    [composerRef],
  );
  const onReact = useCallback((message: MessageOut, emoji: string) => react.mutate({ message, emoji }), [react]);

  const contactBlocked = conversation.contact.optedOut
    ? "This contact opted out of messages; nothing can be sent to them."
    : conversation.contact.blocked
      ? "This contact is blocked."
      : null;

  return (
    <Stack gap={0} className="thread" h="100%">
      <Box ref={scrollRef} className="thread-scroll" onScroll={onScroll} role="log" aria-label="Messages" aria-live="polite" data-testid="thread">
        {thread.isLoading ? (
          <Stack p="md" gap="md">
            {[60, 40, 70, 50, 35].map((w, i) => (
              <Skeleton key={i} height={44} width={`${w}%`} radius="lg" ml={i % 2 ? "auto" : 0} />
            ))}
          </Stack>
        ) : thread.isError ? (
          <Center h="100%">
            <Text c="red">{errorMessage(thread.error)}</Text>
          </Center>
        ) : visible.length === 0 ? (
          <Center h="100%">
            <Text c="dimmed" size="sm">
              No messages yet. {conversation.windowOpen ? "Say hello!" : "Start with a template."}
            </Text>
          </Center>
        ) : (
          <Stack gap={4} px={{ base: "xs", sm: "lg" }} py="md">
            {isFetchingNextPage && (
              <Center py="xs">
                <Loader size="sm" aria-label="Loading older messages" />
              </Center>
            )}
            {!hasNextPage && (
              <Text size="xs" c="dimmed" ta="center" py="xs">
                Beginning of the conversation
              </Text>
            )}
            {visible.map((entry, index) => {
              const previous = visible[index - 1];
              const newDay = !previous || !sameDay(previous.at, entry.at);
              const separator = newDay && (
                <div className="day-separator" role="separator">
                  <span>{dayLabel(entry.at)}</span>
                </div>
              );
              if (entry.kind === "note") {
                const note = entry.note;
                const mayDelete = isAdmin || (note.author !== null && note.author.id === user?.id);
                return (
                  <div key={`note-${note.id}`}>
                    {separator}
                    <NoteBubble
                      note={note}
                      teammates={allTeammates}
                      onDelete={mayDelete ? onDeleteNote : undefined}
                      deleting={removeNoteMutation.isPending && removeNoteMutation.variables?.id === note.id}
                    />
                  </div>
                );
              }
              const message = entry.message;
              const original = message.replyToMessageId
                ? (byId.get(message.replyToMessageId) ?? null)
                : message.replyToWamid
                  ? (byWamid.get(message.replyToWamid) ?? null)
                  : null;
              return (
                <div key={message.id}>
                  {separator}
                  <MessageBubble
                    message={message}
                    replyTo={original}
                    reactions={reactions.get(message.id)}
                    onReply={conversation.windowOpen ? onReply : undefined}
                    onReact={conversation.windowOpen ? onReact : undefined}
                    onRetry={message.direction === "outbound" ? retry : undefined}
                    retrying={retrying === message.id}
                    onJump={jump}
                  />
                </div>
              );
            })}
          </Stack>
        )}
      </Box>
      <Composer
        ref={composerRef}
        windowOpen={conversation.windowOpen}
        windowExpiresAt={conversation.customerWindowExpiresAt}
        templates={usableTemplates}
        templatesLoading={templates.isLoading}
        templatesUnavailable={templates.unavailable}
        blockedReason={contactBlocked}
        replyTo={replyTo}
        onCancelReply={() => setReplyTo(null)}
        onSendText={sendText}
        onSendTemplate={sendTemplate}
        onSendMedia={sendMedia}
        onEscape={onEscape}
        onSendNote={sendNote}
        teammates={teammates}
        meId={user?.id}
        cannedResponses={canned.data}
        onExpandCanned={expand}
        onUploadFile={uploadMedia}
        onDiscardUpload={(uploadId) => discardUpload(uploadId).catch(() => undefined)}
        onSendUpload={sendUpload}
        onTyping={onTyping}
      />
    </Stack>
  );
});
