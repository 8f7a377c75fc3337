/** Team work on conversations: private notes, canned responses, the label catalogue and typing/viewing hints. */
import { useQuery, type InfiniteData, type QueryClient } from "@tanstack/react-query";
import * as sdk from "../client/sdk.gen";
import type {
  CannedResponseCreate,
  CannedResponseOut,
  CannedResponseUpdate,
  ConversationOut,
  ExpandOut,
  LabelCreate,
  LabelOut,
  LabelUpdate,
  NoteOut,
  PageNoteOut,
} from "../client/types.gen";
import { keys } from "./cache";
import { call } from "./http";

export type { CannedResponseOut, LabelOut, NoteOut };
export type LabelColor = LabelOut["color"];
export type PresenceState = "typing" | "viewing" | "idle";

export const LABEL_COLORS: LabelColor[] = [
  "gray",
  "red",
  "pink",
  "grape",
  "violet",
  "indigo",
  "blue",
  "cyan",
  "teal",
  "green",
  "lime",
  "yellow",
  "orange",
];

// --- notes ------------------------------------------------------------------------------------------------
export const listNotes = (conversationId: string, cursor: string | null, limit = 50): Promise<PageNoteOut> =>
  call(
    sdk.listNotesApiConversationsConversationIdNotesGet({
      path: { conversation_id: conversationId },
      query: { cursor: cursor ?? undefined, limit },
    }),
  );
export const addNote = (conversationId: string, body: string, mentions: string[]): Promise<NoteOut> =>
  call(
    sdk.addNoteApiConversationsConversationIdNotesPost({
      path: { conversation_id: conversationId },
      body: { body, mentions },
    }),
  );
export const updateNote = (conversationId: string, noteId: string, body: string): Promise<NoteOut> =>
  call(
    sdk.updateNoteApiConversationsConversationIdNotesNoteIdPatch({
      path: { conversation_id: conversationId, note_id: noteId },
      body: { body },
    }),
  );
/** Puts a created or edited note in its conversation's loaded notes (pages are newest first). */
export function applyNote(queryClient: QueryClient, note: NoteOut): void {
  queryClient.setQueryData<InfiniteData<PageNoteOut>>(keys.notes(note.conversationId), (data) => {
    if (!data) return data;
    let found = false;
    const pages = data.pages.map((page) => ({
      ...page,
      items: page.items.map((n) => {
        if (n.id !== note.id) return n;
        found = true;
        return note;
      }),
    }));
    if (!found && pages[0]) pages[0] = { ...pages[0], items: [note, ...pages[0].items] };
    return { ...data, pages };
  });
}
export function removeNote(queryClient: QueryClient, conversationId: string, noteId: string): void {
  queryClient.setQueryData<InfiniteData<PageNoteOut>>(keys.notes(conversationId), (data) =>
    data ? { ...data, pages: data.pages.map((p) => ({ ...p, items: p.items.filter((n) => n.id !== noteId) })) } : data,
  );
}
export const deleteNote = (conversationId: string, noteId: string): Promise<unknown> =>
  call(
    sdk.deleteNoteApiConversationsConversationIdNotesNoteIdDelete({
      path: { conversation_id: conversationId, note_id: noteId },
    }),
  );

// --- canned responses -------------------------------------------------------------------------------------
export const listCanned = (): Promise<CannedResponseOut[]> => call(sdk.listCannedApiCannedResponsesGet({}));
export const createCanned = (body: CannedResponseCreate): Promise<CannedResponseOut> =>
  call(sdk.createCannedApiCannedResponsesPost({ body }));
export const updateCanned = (id: string, body: CannedResponseUpdate): Promise<CannedResponseOut> =>
  call(sdk.updateCannedApiCannedResponsesCannedIdPatch({ path: { canned_id: id }, body }));
export const deleteCanned = (id: string): Promise<unknown> =>
  call(sdk.deleteCannedApiCannedResponsesCannedIdDelete({ path: { canned_id: id } }));
/** Expands every `/code` in `text`, filling {{contact.name}} and the like from the conversation. */
export const expandCanned = (text: string, conversationId?: string): Promise<ExpandOut> =>
  call(sdk.expandApiCannedResponsesExpandPost({ body: { text, conversationId } }));

export function useCannedResponses(enabled = true) {
  return useQuery({ queryKey: keys.canned, queryFn: listCanned, staleTime: 60_000, enabled });
}

// --- labels -----------------------------------------------------------------------------------------------
export const listLabels = (): Promise<LabelOut[]> => call(sdk.listLabelsApiLabelsGet({}));
export const createLabel = (body: LabelCreate): Promise<LabelOut> => call(sdk.createLabelApiLabelsPost({ body }));
export const updateLabel = (id: string, body: LabelUpdate): Promise<LabelOut> =>
  call(sdk.updateLabelApiLabelsLabelIdPatch({ path: { label_id: id }, body }));
export const deleteLabel = (id: string): Promise<unknown> =>
  call(sdk.deleteLabelApiLabelsLabelIdDelete({ path: { label_id: id } }));
export const setConversationLabels = (conversationId: string, labels: string[]): Promise<ConversationOut> =>
  call(sdk.setLabelsApiConversationsConversationIdLabelsPut({ path: { conversation_id: conversationId }, body: { labels } }));

export function useLabels() {
  return useQuery({ queryKey: keys.labels, queryFn: listLabels, staleTime: 60_000 });
}

/** The colour a label is shown in: its catalogue colour, gray while the catalogue is loading. */
export function labelColor(labels: LabelOut[] | undefined, name: string): LabelColor {
  return labels?.find((l) => l.label === name)?.color ?? "gray";
}

// --- presence ---------------------------------------------------------------------------------------------
export const announcePresence = (conversationId: string, state: PresenceState): Promise<unknown> =>
  call(
    sdk.announcePresenceApiConversationsConversationIdPresencePost({
      path: { conversation_id: conversationId },
      body: { state },
    }),
  );
