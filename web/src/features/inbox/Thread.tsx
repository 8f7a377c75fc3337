import { Box, Center, Loader, Skeleton, Stack, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { forwardRef, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { applyConversation, applyMessage, keys } from "../../api/cache";
import { usePhoneNumbers, useTemplates } from "../../api/hooks";
import { ApiError, errorMessage } from "../../api/http";
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
import { MessageBubble, type ThreadMessage } from "./MessageBubble";
import { isFoldedReaction, reactionsByMessage } from "./messageModel";
import type { TemplateSend } from "./TemplatePicker";

type Pending = { body: SendMessageIn; key: string };

function byTime(a: MessageOut, b: MessageOut): number {
  return a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);
}

export type ThreadProps = { conversation: ConversationOut; onEscape?: () => void };

/** The messages of one conversation, oldest at the top, with the composer below. */
export const Thread = forwardRef<ComposerHandle, ThreadProps>(function Thread({ conversation, onEscape }, composerRef) {
  const queryClient = useQueryClient();
  const { user } = useAuth();
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

  const messages = useMemo(() => {
    const all = (thread.data?.pages ?? []).flatMap((p) => p.items) as ThreadMessage[];
    return [...all].sort(byTime);
  }, [thread.data]);
  const byId = useMemo(() => new Map(messages.map((m) => [m.id, m])), [messages]);
  const byWamid = useMemo(() => new Map(messages.filter((m) => m.wamid).map((m) => [m.wamid as string, m])), [messages]);
  const reactions = useMemo(() => reactionsByMessage(messages), [messages]);
  const visible = useMemo(() => {
    const wamids = new Set(byWamid.keys());
    return messages.filter((m) => !isFoldedReaction(m, wamids));
  }, [messages, byWamid]);

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
    (body: SendMessageIn, content: Record<string, unknown>) => {
      const tempId = `local-${uuid()}`;
      const job = { body, key: uuid() };
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
            {visible.map((message, index) => {
              const previous = visible[index - 1];
              const newDay = !previous || !sameDay(previous.createdAt, message.createdAt);
              const original = message.replyToMessageId
                ? (byId.get(message.replyToMessageId) ?? null)
                : message.replyToWamid
                  ? (byWamid.get(message.replyToWamid) ?? null)
                  : null;
              return (
                <div key={message.id}>
                  {newDay && (
                    <div className="day-separator" role="separator">
                      <span>{dayLabel(message.createdAt)}</span>
                    </div>
                  )}
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
      />
    </Stack>
  );
});
