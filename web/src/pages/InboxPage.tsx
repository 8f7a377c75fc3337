import { Box, Center, Stack, Text, ThemeIcon } from "@mantine/core";
import { useMediaQuery } from "@mantine/hooks";
import { IconMessages } from "@tabler/icons-react";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate, useParams, useSearch } from "@tanstack/react-router";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { applyConversation, keys } from "../api/cache";
import { setConversationLabels, useLabels } from "../api/collaboration";
import { useUsers } from "../api/hooks";
import {
  archiveConversation,
  conversationStats,
  getConversation,
  listConversations,
  updateConversation,
  type ConversationFilters,
  type ConversationOut,
  type ConversationStatus,
} from "../api/resources";
import { useAuth } from "../auth/AuthProvider";
import type { ComposerHandle } from "../features/inbox/Composer";
import { ContactPanel } from "../features/inbox/ContactPanel";
import { ConversationHeader } from "../features/inbox/ConversationHeader";
import { ConversationList, type InboxView, type StatusTab } from "../features/inbox/ConversationList";
import { Thread } from "../features/inbox/Thread";

export type InboxSearch = { view?: InboxView; status?: Exclude<StatusTab, "any">; q?: string; label?: string };

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName) || el.getAttribute("role") === "combobox";
}

export function InboxPage() {
  const { user } = useAuth();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const params = useParams({ strict: false }) as { conversationId?: string };
  const search = useSearch({ strict: false }) as InboxSearch;
  const conversationId = params.conversationId;
  const view: InboxView = search.view ?? "all";
  const status: StatusTab = search.status ?? "any";
  const wide = useMediaQuery("(min-width: 75em)");
  const [panelOpen, setPanelOpen] = useState<boolean | null>(null);
  const showPanel = panelOpen ?? Boolean(wide);
  const composer = useRef<ComposerHandle>(null);

  const filters: ConversationFilters = useMemo(
    () => ({
      status: status === "any" ? undefined : status,
      assigneeId: view === "mine" ? user?.id : undefined,
      unassigned: view === "unassigned" ? true : undefined,
      search: search.q,
      label: search.label,
    }),
    [status, view, user?.id, search.q, search.label],
  );

  const list = useInfiniteQuery({
    queryKey: keys.conversationList(filters),
    queryFn: ({ pageParam }) => listConversations(filters, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const items = useMemo(() => list.data?.pages.flatMap((p) => p.items) ?? [], [list.data]);
  const stats = useQuery({ queryKey: keys.stats, queryFn: conversationStats });
  const users = useUsers();
  const labelCatalog = useLabels();

  const fromList = items.find((c) => c.id === conversationId);
  const detail = useQuery({
    queryKey: keys.conversation(conversationId ?? ""),
    queryFn: () => getConversation(conversationId ?? ""),
    enabled: Boolean(conversationId),
    select: (d): ConversationOut => d,
  });
  const conversation: ConversationOut | undefined = detail.data ?? fromList;

  const go = useCallback(
    (next: { id?: string | null; search?: Partial<InboxSearch> }) => {
      const nextSearch = { ...search, ...(next.search ?? {}) };
      const id = next.id === undefined ? conversationId : next.id;
      if (id) void navigate({ to: "/inbox/$conversationId", params: { conversationId: id }, search: nextSearch });
      else void navigate({ to: "/inbox", search: nextSearch });
    },
    [navigate, search, conversationId],
  );

  const open = useCallback((id: string) => go({ id }), [go]);

  const update = useMutation({
    mutationFn: (body: { status?: ConversationStatus; assigneeId?: string | null }) => updateConversation(conversationId ?? "", body),
    onSuccess: (updated) => {
      applyConversation(queryClient, updated);
      void queryClient.invalidateQueries({ queryKey: keys.stats });
    },
  });
  const relabel = useMutation({
    mutationFn: (labels: string[]) => setConversationLabels(conversationId ?? "", labels),
    // Shown at once; put back if the API refuses.
    onMutate: (labels) => {
      if (conversation) applyConversation(queryClient, { ...conversation, labels });
      return { previous: conversation };
    },
    onError: (_error, _labels, context) => {
      if (context?.previous) applyConversation(queryClient, context.previous);
    },
    onSuccess: (updated) => {
      applyConversation(queryClient, updated);
      void queryClient.invalidateQueries({ queryKey: keys.labels });
    },
  });
  const archive = useMutation({
    mutationFn: () => archiveConversation(conversationId ?? ""),
    onSuccess: (updated) => {
      applyConversation(queryClient, updated);
      void queryClient.invalidateQueries({ queryKey: keys.stats });
    },
  });

  // Keyboard: j/k (or arrows) move through the list, Enter jumps to the composer, Esc closes the thread.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.metaKey || event.ctrlKey || event.altKey) return;
      if (isTyping(event.target)) return;
      if (document.querySelector("[role=dialog], [data-menu-dropdown]")) return;
      const index = items.findIndex((c) => c.id === conversationId);
      if (event.key === "j" || event.key === "ArrowDown") {
        const next = items[Math.min(index + 1, items.length - 1)];
        if (next) {
          event.preventDefault();
          open(next.id);
        }
      } else if (event.key === "k" || event.key === "ArrowUp") {
        const previous = items[Math.max(index - 1, 0)];
        if (previous) {
          event.preventDefault();
          open(previous.id);
        }
      } else if (event.key === "Enter" && conversationId) {
        event.preventDefault();
        composer.current?.focus();
      } else if (event.key === "Escape" && conversationId) {
        event.preventDefault();
        go({ id: null });
      } else if (event.key === "/") {
        event.preventDefault();
        document.querySelector<HTMLInputElement>("input[aria-label='Search conversations']")?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [items, conversationId, open, go]);

  const loadMore = useCallback(() => void list.fetchNextPage(), [list]);

  return (
    <Box className="inbox" data-has-conversation={conversationId ? "true" : undefined} data-panel={showPanel && conversation ? "open" : undefined}>
      <Box className="inbox-list" component="section" aria-label="Conversation list">
        <ConversationList
          items={items}
          loading={list.isLoading}
          error={list.isError}
          hasMore={Boolean(list.hasNextPage)}
          loadingMore={list.isFetchingNextPage}
          onLoadMore={loadMore}
          selectedId={conversationId}
          onOpen={open}
          view={view}
          onView={(v) => go({ search: { view: v === "all" ? undefined : v } })}
          status={status}
          onStatus={(s) => go({ search: { status: s === "any" ? undefined : s } })}
          search={search.q ?? ""}
          onSearch={(q) => go({ search: { q: q || undefined } })}
          stats={stats.data}
          label={search.label}
          onLabel={(label) => go({ search: { label } })}
          labelCatalog={labelCatalog.data}
        />
      </Box>
      <Box className="inbox-thread" component="section" aria-label="Conversation">
        {conversation ? (
          <Stack gap={0} h="100%">
            <ConversationHeader
              conversation={conversation}
              users={users.data}
              meId={user?.id}
              busy={update.isPending || archive.isPending}
              onAssign={(assigneeId) => update.mutate({ assigneeId })}
              onStatus={(s) => update.mutate({ status: s })}
              onArchive={() => archive.mutate()}
              onBack={() => go({ id: null })}
              onTogglePanel={() => setPanelOpen(!showPanel)}
              panelOpen={showPanel}
              labelCatalog={labelCatalog.data}
              onLabels={(labels) => relabel.mutate(labels)}
              labelsBusy={relabel.isPending}
            />
            <Box style={{ flex: 1, minHeight: 0 }}>
              <Thread key={conversation.id} ref={composer} conversation={conversation} onEscape={() => go({ id: null })} />
            </Box>
          </Stack>
        ) : conversationId && detail.isError ? (
          <Center h="100%">
            <Text c="dimmed">This conversation does not exist or is not yours to see.</Text>
          </Center>
        ) : (
          <Center h="100%" className="thread-empty">
            <Stack align="center" gap="xs" maw={360} p="md">
              <ThemeIcon size={64} radius="xl" variant="light">
                <IconMessages size={34} />
              </ThemeIcon>
              <Text fw={600}>{conversationId ? "Loading conversation…" : "Pick a conversation"}</Text>
              <Text size="sm" c="dimmed" ta="center">
                Use j and k (or the arrow keys) to move through the list, Enter to write, Esc to close, / to search.
              </Text>
            </Stack>
          </Center>
        )}
      </Box>
      {conversation && showPanel && (
        <ContactPanel conversation={conversation} onClose={() => setPanelOpen(false)} />
      )}
    </Box>
  );
}
