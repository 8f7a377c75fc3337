/** Every API call the app makes, with readable names over the generated client. */
import * as sdk from "../client/sdk.gen";
import type {
  ContactDetail,
  ContactOut,
  ConversationDetail,
  ConversationOut,
  ConversationStats,
  ConversationStatus,
  MeOut,
  MessageOut,
  Overview,
  PageContactOut,
  PageConversationOut,
  PageMessageOut,
  PageTemplateOut,
  PhoneNumberCreate,
  PhoneNumberOut,
  PhoneNumberUpdate,
  RegisterIn,
  RegisterOut,
  SendMessageIn,
  TemplateOut,
  TenantOut,
  TenantSettingsUpdate,
  TokenPair,
  UserCreate,
  UserDetail,
  UserUpdate,
} from "../client/types.gen";
import { call } from "./http";

export type {
  ConversationDetail,
  ConversationOut,
  ConversationStats,
  ConversationStatus,
  MeOut,
  MessageOut,
  Overview,
  PhoneNumberOut,
  SendMessageIn,
  TenantOut,
  UserDetail,
};

export type ConversationFilters = {
  status?: ConversationStatus;
  assigneeId?: string;
  unassigned?: boolean;
  search?: string;
};

// --- auth -------------------------------------------------------------------------------------------------
export const login = (email: string, password: string): Promise<TokenPair> =>
  call(sdk.loginApiAuthLoginPost({ body: { email, password } }));
export const register = (body: RegisterIn): Promise<RegisterOut> => call(sdk.registerApiAuthRegisterPost({ body }));
export const logout = (): Promise<unknown> => call(sdk.logoutApiAuthLogoutPost({}));
export const me = (): Promise<MeOut> => call(sdk.meApiAuthMeGet({}));

// --- conversations ----------------------------------------------------------------------------------------
export const listConversations = (
  filters: ConversationFilters,
  cursor: string | null,
  limit = 50,
): Promise<PageConversationOut> =>
  call(
    sdk.listConversationsApiConversationsGet({
      query: {
        status: filters.status,
        assigneeId: filters.assigneeId,
        unassigned: filters.unassigned || undefined,
        search: filters.search || undefined,
        cursor: cursor ?? undefined,
        limit,
      },
    }),
  );
export const conversationStats = (): Promise<ConversationStats> =>
  call(sdk.statsSummaryApiConversationsStatsSummaryGet({}));
export const getConversation = (id: string): Promise<ConversationDetail> =>
  call(sdk.getConversationApiConversationsConversationIdGet({ path: { conversation_id: id } }));
export const updateConversation = (
  id: string,
  body: { status?: ConversationStatus; assigneeId?: string | null },
): Promise<ConversationOut> =>
  call(sdk.updateConversationApiConversationsConversationIdPatch({ path: { conversation_id: id }, body }));
export const archiveConversation = (id: string): Promise<ConversationOut> =>
  call(sdk.archiveConversationApiConversationsConversationIdDelete({ path: { conversation_id: id } }));
export const markConversationRead = (id: string): Promise<ConversationOut> =>
  call(sdk.markReadApiConversationsConversationIdReadPost({ path: { conversation_id: id } }));

// --- messages ---------------------------------------------------------------------------------------------
export const listMessages = (conversationId: string, cursor: string | null, limit = 50): Promise<PageMessageOut> =>
  call(sdk.listMessagesApiMessagesGet({ query: { conversationId, cursor: cursor ?? undefined, limit } }));
export const sendMessage = (body: SendMessageIn, idempotencyKey: string): Promise<MessageOut> =>
  call(sdk.sendMessageApiMessagesPost({ body, headers: { "Idempotency-Key": idempotencyKey } }));
export const retryMessage = (id: string): Promise<MessageOut> =>
  call(sdk.retryMessageApiMessagesMessageIdRetryPost({ path: { message_id: id } }));
export const mediaUrl = (id: string): string => `/api/messages/${encodeURIComponent(id)}/media`;

// --- users ------------------------------------------------------------------------------------------------
export const listUsers = (): Promise<UserDetail[]> => call(sdk.listUsersApiUsersGet({}));
export const createUser = (body: UserCreate): Promise<UserDetail> => call(sdk.createUserApiUsersPost({ body }));
export const updateUser = (id: string, body: UserUpdate): Promise<UserDetail> =>
  call(sdk.updateUserApiUsersUserIdPatch({ path: { user_id: id }, body }));

// --- phone numbers ----------------------------------------------------------------------------------------
export const listPhoneNumbers = (): Promise<PhoneNumberOut[]> => call(sdk.listNumbersApiPhoneNumbersGet({}));
export const createPhoneNumber = (body: PhoneNumberCreate): Promise<PhoneNumberOut> =>
  call(sdk.createNumberApiPhoneNumbersPost({ body }));
export const updatePhoneNumber = (id: string, body: PhoneNumberUpdate): Promise<PhoneNumberOut> =>
  call(sdk.updateNumberApiPhoneNumbersNumberIdPatch({ path: { number_id: id }, body }));
export const deletePhoneNumber = (id: string): Promise<unknown> =>
  call(sdk.deleteNumberApiPhoneNumbersNumberIdDelete({ path: { number_id: id } }));

// --- templates --------------------------------------------------------------------------------------------
export type TemplateComponent = {
  type: string;
  format?: string;
  text?: string;
  buttons?: { type: string; text?: string; url?: string; phone_number?: string }[];
  example?: Record<string, unknown>;
};
/** A template as the API answers it, with Meta's components read into their documented shape. */
export type Template = Omit<TemplateOut, "components"> & { components: TemplateComponent[] };

export async function listTemplates(): Promise<Template[]> {
  const all: Template[] = [];
  let cursor: string | null | undefined = null;
  for (let page = 0; page < 50; page += 1) {
    const answer: PageTemplateOut = await call(
      sdk.listTemplatesApiTemplatesGet({ query: { limit: 100, cursor: cursor ?? undefined } }),
    );
    all.push(...(answer.items as Template[]));
    cursor = answer.nextCursor;
    if (!cursor) break;
  }
  return all;
}
export const syncTemplates = (): Promise<unknown> => call(sdk.syncTemplatesApiTemplatesSyncPost({}));

// --- contacts ---------------------------------------------------------------------------------------------
export type Contact = ContactOut;
/** `name` sets the saved name (an empty string clears it). */
export type ContactUpdate = { name?: string; tags?: string[]; optedOut?: boolean; blocked?: boolean };

export const listContacts = (search: string, cursor: string | null): Promise<PageContactOut> =>
  call(sdk.listContactsApiContactsGet({ query: { search: search || undefined, cursor: cursor ?? undefined, limit: 50 } }));
export const getContact = (id: string): Promise<ContactDetail> =>
  call(sdk.getContactApiContactsContactIdGet({ path: { contact_id: id } }));
export const updateContact = (id: string, body: ContactUpdate): Promise<Contact> =>
  call(sdk.updateContactApiContactsContactIdPatch({ path: { contact_id: id }, body }));

// --- company ----------------------------------------------------------------------------------------------
export const updateTenant = (body: TenantSettingsUpdate): Promise<TenantOut> =>
  call(sdk.updateTenantApiTenantPatch({ body }));

// --- analytics --------------------------------------------------------------------------------------------
export const analyticsOverview = (from: string, to: string, tz: string): Promise<Overview> =>
  call(sdk.overviewApiAnalyticsOverviewGet({ query: { from, to, tz } }));
