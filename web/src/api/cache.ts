/** Query keys and the cache updates shared by mutations and the live event stream. */
import type { InfiniteData, QueryClient } from "@tanstack/react-query";
import type {
  CampaignOut,
  CampaignStats,
  CampaignStatus,
  ConversationFilters,
  ConversationOut,
  MessageOut,
  RecipientFilters,
} from "./resources";

type Page<T> = { items: T[]; nextCursor?: string | null };

export const keys = {
  conversations: ["conversations"] as const,
  conversationList: (filters: ConversationFilters) => ["conversations", filters] as const,
  conversation: (id: string) => ["conversation", id] as const,
  thread: (id: string) => ["thread", id] as const,
  stats: ["stats"] as const,
  users: ["users"] as const,
  phoneNumbers: ["phone-numbers"] as const,
  templates: ["templates"] as const,
  contacts: ["contacts"] as const,
  contact: (id: string) => ["contact", id] as const,
  me: ["me"] as const,
  campaigns: ["campaigns"] as const,
  campaignList: (status: CampaignStatus | undefined) => ["campaigns", "list", status ?? "all"] as const,
  campaign: (id: string) => ["campaigns", "detail", id] as const,
  campaignStats: (id: string) => ["campaigns", "stats", id] as const,
  campaignPreview: (id: string) => ["campaigns", "preview", id] as const,
  campaignRecipients: (id: string) => ["campaigns", "recipients", id] as const,
  campaignRecipientList: (id: string, filters: RecipientFilters) => ["campaigns", "recipients", id, filters] as const,
  contactTags: ["contact-tags"] as const,
  contactAttributeKeys: ["contact-attribute-keys"] as const,
  audit: ["audit"] as const,
  auditActions: ["audit-actions"] as const,
  apiKeys: ["api-keys"] as const,
  webhooks: ["webhooks"] as const,
  webhookEventTypes: ["webhook-event-types"] as const,
  webhookDeliveries: (id: string) => ["webhook-deliveries", id] as const,
  webhookDelivery: (webhookId: string, deliveryId: string) => ["webhook-delivery", webhookId, deliveryId] as const,
  notes: (conversationId: string) => ["notes", conversationId] as const,
  canned: ["canned-responses"] as const,
  labels: ["labels"] as const,
};

export function conversationMatches(conversation: ConversationOut, filters: ConversationFilters): boolean {
  if (filters.status && conversation.status !== filters.status) return false;
  if (filters.assigneeId && conversation.assignee?.id !== filters.assigneeId) return false;
  if (filters.unassigned && conversation.assignee) return false;
  if (filters.label && !conversation.labels.includes(filters.label)) return false;
  return true;
}

function newerFirst(a: ConversationOut, b: ConversationOut): number {
  return b.lastMessageAt.localeCompare(a.lastMessageAt) || b.id.localeCompare(a.id);
}

/**
 * Puts a changed conversation where it belongs in every loaded list: replaced, moved to its place by last
 * activity, or removed when it no longer matches the list's filters. Lists filtered by a search text cannot be
 * judged here and are refetched instead.
 */
export function applyConversation(queryClient: QueryClient, conversation: ConversationOut): void {
  const lists = queryClient.getQueriesData<InfiniteData<Page<ConversationOut>>>({ queryKey: keys.conversations });
  for (const [key, data] of lists) {
    if (!data) continue;
    const filters = (key[1] ?? {}) as ConversationFilters;
    if (filters.search) {
      void queryClient.invalidateQueries({ queryKey: key, exact: true });
      continue;
    }
    const flat = data.pages.flatMap((p) => p.items).filter((c) => c.id !== conversation.id);
    const lastPage = data.pages[data.pages.length - 1];
    const oldest = flat[flat.length - 1];
    const fits =
      conversationMatches(conversation, filters) &&
      (!lastPage?.nextCursor || !oldest || newerFirst(conversation, oldest) <= 0);
    if (fits) {
      flat.push(conversation);
      flat.sort(newerFirst);
    }
    // Re-cut into pages of the original sizes so the cursors still line up with what was fetched.
    let offset = 0;
    const pages = data.pages.map((page, index) => {
      const size = index === data.pages.length - 1 ? flat.length - offset : page.items.length;
      const items = flat.slice(offset, offset + Math.max(size, 0));
      offset += items.length;
      return { ...page, items };
    });
    queryClient.setQueryData(key, { ...data, pages });
  }
  queryClient.setQueryData<ConversationOut>(keys.conversation(conversation.id), (old) =>
    old ? { ...old, ...conversation } : old,
  );
}

/** What identifies an optimistic copy with the message the server stored for it. */
function sendSignature(message: MessageOut): string {
  const c = message.content as Record<string, unknown>;
  return JSON.stringify([message.type, c.body ?? c.name ?? c.link ?? c.emoji ?? null, message.replyToMessageId ?? null]);
}

/**
 * Inserts or replaces a message in its conversation's loaded thread (pages are newest first). The live stream
 * can announce our own message before the send's answer arrives: it then takes the place of the matching
 * optimistic copy instead of showing twice.
 */
export function applyMessage(queryClient: QueryClient, message: MessageOut, replaceId?: string): void {
  queryClient.setQueryData<InfiniteData<Page<MessageOut>>>(keys.thread(message.conversationId), (data) => {
    if (!data) return data;
    const all = data.pages.flatMap((p) => p.items);
    if (!replaceId && message.direction === "outbound" && !all.some((m) => m.id === message.id)) {
      const signature = sendSignature(message);
      const twin = all.find(
        (m) => (m as { pending?: boolean }).pending && m.id.startsWith("local-") && sendSignature(m) === signature,
      );
      if (twin) replaceId = twin.id;
    }
    let found = false;
    const pages = data.pages.map((page) => ({
      ...page,
      items: page.items.flatMap((m) => {
        if (m.id === message.id || (replaceId && m.id === replaceId)) {
          if (found) return [];
          found = true;
          return [keepNewest(m, message)];
        }
        return [m];
      }),
    }));
    if (!found && pages[0]) pages[0] = { ...pages[0], items: [message, ...pages[0].items] };
    return { ...data, pages };
  });
}

const STATUS_RANK: Record<string, number> = { queued: 0, sending: 1, sent: 2, delivered: 3, read: 4, received: 0 };

/**
 * Events and HTTP answers about one message arrive in any order (the send's 202 often comes after the
 * stream already said "delivered"): a status never moves back, except a failed message being retried.
 */
function keepNewest(current: MessageOut, incoming: MessageOut): MessageOut {
  if (current.status === "failed" || incoming.status === "failed") return incoming;
  const a = STATUS_RANK[current.status] ?? 0;
  const b = STATUS_RANK[incoming.status] ?? 0;
  if (b >= a) return incoming;
  return {
    ...incoming,
    status: current.status,
    wamid: current.wamid ?? incoming.wamid,
    sentAt: current.sentAt ?? incoming.sentAt,
    deliveredAt: current.deliveredAt ?? incoming.deliveredAt,
    readAt: current.readAt ?? incoming.readAt,
  };
}

export function removeMessage(queryClient: QueryClient, conversationId: string, id: string): void {
  queryClient.setQueryData<InfiniteData<Page<MessageOut>>>(keys.thread(conversationId), (data) =>
    data ? { ...data, pages: data.pages.map((p) => ({ ...p, items: p.items.filter((m) => m.id !== id) })) } : data,
  );
}

/** What a campaign's stats say about the campaign itself (status, reasons, counts, times). */
function withStats(campaign: CampaignOut, stats: CampaignStats): CampaignOut {
  return {
    ...campaign,
    status: stats.status,
    pausedReason: stats.pausedReason,
    pausedCode: stats.pausedCode,
    waitingReason: stats.waitingReason,
    waitingUntil: stats.waitingUntil,
    counts: stats.counts,
    startedAt: stats.startedAt,
    completedAt: stats.completedAt,
  };
}

const recipientRefresh = new Map<string, ReturnType<typeof setTimeout>>();

/**
 * A campaign's latest figures, from a `campaign.updated` event or a polled `GET …/stats`, whichever comes: the
 * stats, the campaign and every loaded list follow (an older answer never replaces a newer one), and the
 * recipients on screen are refetched at most every two seconds.
 */
export function applyCampaignStats(queryClient: QueryClient, stats: CampaignStats): void {
  const id = stats.campaignId;
  const current = queryClient.getQueryData<CampaignStats>(keys.campaignStats(id));
  if (current && current.generatedAt > stats.generatedAt) return;
  queryClient.setQueryData<CampaignStats>(keys.campaignStats(id), stats);
  queryClient.setQueryData<CampaignOut>(keys.campaign(id), (old) => (old ? withStats(old, stats) : old));
  queryClient.setQueriesData<InfiniteData<Page<CampaignOut>>>({ queryKey: [...keys.campaigns, "list"] }, (data) =>
    data
      ? { ...data, pages: data.pages.map((p) => ({ ...p, items: p.items.map((c) => (c.id === id ? withStats(c, stats) : c)) })) }
      : data,
  );
  if (!recipientRefresh.has(id)) {
    recipientRefresh.set(
      id,
      setTimeout(() => {
        recipientRefresh.delete(id);
        void queryClient.invalidateQueries({ queryKey: keys.campaignRecipients(id) });
      }, 2000),
    );
  }
}
