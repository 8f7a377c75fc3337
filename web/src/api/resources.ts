/** Every API call the app makes, with readable names over the generated client. */
import * as sdk from "../client/sdk.gen";
import type {
  ApiKeyCreated,
  ApiKeyOut,
  ApiKeyScope,
  AttributeKeyCount,
  AudiencePreview,
  AuditActions,
  AuditEntryOut,
  CampaignCreate,
  CampaignOut,
  CampaignPreviewIn,
  CampaignStats,
  CampaignStatus,
  ContactAudience,
  ContactDetail,
  ContactOut,
  ConversationDetail,
  ConversationOut,
  ConversationStats,
  ConversationStatus,
  CsvUploadResult,
  DeliveryDetail,
  DeliveryOut,
  DeliveryStatus,
  MeOut,
  MessageOut,
  Overview,
  PageAuditEntryOut,
  PageCampaignOut,
  PageContactOut,
  PageConversationOut,
  PageDeliveryOut,
  PageRecipientOut,
  PageMessageOut,
  PageTemplateOut,
  ParameterMapping,
  ParameterSource,
  PauseCode,
  PhoneNumberCreate,
  PhoneNumberOut,
  PhoneNumberUpdate,
  RecipientOut,
  RecipientStatus,
  RegisterIn,
  RegisterOut,
  RetryResult,
  SendMessageIn,
  TagCount,
  TemplateCreate,
  TemplateOut,
  TenantOut,
  TenantSettingsUpdate,
  TokenPair,
  UserCreate,
  UserDetail,
  UserUpdate,
  WebhookCreate,
  WebhookCreated,
  WebhookOut,
  WebhookUpdate,
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
  /** Only conversations carrying this label (as the catalogue names it). */
  label?: string;
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
        label: filters.label || undefined,
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
export type { TemplateCreate };
/** Checked against Meta's rules first (422 `template_invalid` with `{path, message}` problems), then submitted for review. */
export const createTemplate = (body: TemplateCreate): Promise<Template> =>
  call(sdk.createTemplateApiTemplatesPost({ body })).then((template) => template as Template);
export const deleteTemplate = (id: string): Promise<unknown> =>
  call(sdk.deleteTemplateApiTemplatesTemplateIdDelete({ path: { template_id: id } }));

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

// --- campaigns (admin) ------------------------------------------------------------------------------------
export type {
  AttributeKeyCount,
  AudiencePreview,
  CampaignCreate,
  CampaignOut,
  CampaignStats,
  CampaignStatus,
  ContactAudience,
  CsvUploadResult,
  ParameterMapping,
  ParameterSource,
  PauseCode,
  RecipientOut,
  RecipientStatus,
  TagCount,
};
/** The lifecycle actions of `POST /api/campaigns/{id}/<action>` that answer the campaign. */
export type CampaignAction = "schedule" | "unschedule" | "start" | "pause" | "resume" | "cancel";
export type RecipientFilters = { status?: RecipientStatus; search?: string };

export const listCampaigns = (status: CampaignStatus | undefined, cursor: string | null): Promise<PageCampaignOut> =>
  call(sdk.listCampaignsApiCampaignsGet({ query: { status, cursor: cursor ?? undefined, limit: 50 } }));
export const getCampaign = (id: string): Promise<CampaignOut> =>
  call(sdk.getCampaignApiCampaignsCampaignIdGet({ path: { campaign_id: id } }));
export const createCampaign = (body: CampaignCreate): Promise<CampaignOut> =>
  call(sdk.createCampaignApiCampaignsPost({ body }));
export const deleteCampaign = (id: string): Promise<unknown> =>
  call(sdk.deleteCampaignApiCampaignsCampaignIdDelete({ path: { campaign_id: id } }));
export const previewAudience = (body: CampaignPreviewIn): Promise<AudiencePreview> =>
  call(sdk.previewAudienceApiCampaignsPreviewPost({ body }));
export const previewCampaign = (id: string): Promise<AudiencePreview> =>
  call(sdk.previewCampaignApiCampaignsCampaignIdPreviewGet({ path: { campaign_id: id } }));
export const uploadCampaignCsv = (id: string, file: Blob, phoneColumn?: string | null): Promise<CsvUploadResult> =>
  call(
    sdk.uploadCsvApiCampaignsCampaignIdAudienceCsvPost({
      path: { campaign_id: id },
      query: { phoneColumn: phoneColumn || undefined },
      body: file,
    }),
  );
export const campaignStats = (id: string): Promise<CampaignStats> =>
  call(sdk.campaignStatsApiCampaignsCampaignIdStatsGet({ path: { campaign_id: id } }));
export const listRecipients = (id: string, filters: RecipientFilters, cursor: string | null): Promise<PageRecipientOut> =>
  call(
    sdk.listRecipientsApiCampaignsCampaignIdRecipientsGet({
      path: { campaign_id: id },
      query: { status: filters.status, search: filters.search || undefined, cursor: cursor ?? undefined, limit: 50 },
    }),
  );
/** `schedule` takes the time (read in `timezone` when it has no offset); without it the campaign's own is used. */
export function campaignAction(
  id: string,
  action: CampaignAction,
  schedule?: { scheduledAt: string; timezone?: string | null },
): Promise<CampaignOut> {
  const path = { campaign_id: id };
  switch (action) {
    case "schedule":
      return call(sdk.scheduleCampaignApiCampaignsCampaignIdSchedulePost({ path, body: schedule }));
    case "unschedule":
      return call(sdk.unscheduleCampaignApiCampaignsCampaignIdUnschedulePost({ path }));
    case "start":
      return call(sdk.startCampaignApiCampaignsCampaignIdStartPost({ path }));
    case "pause":
      return call(sdk.pauseCampaignApiCampaignsCampaignIdPausePost({ path }));
    case "resume":
      return call(sdk.resumeCampaignApiCampaignsCampaignIdResumePost({ path }));
    case "cancel":
      return call(sdk.cancelCampaignApiCampaignsCampaignIdCancelPost({ path }));
  }
}
export const retryFailedRecipients = (id: string): Promise<RetryResult> =>
  call(sdk.retryFailedApiCampaignsCampaignIdRetryFailedPost({ path: { campaign_id: id } }));
export const listContactTags = (): Promise<TagCount[]> => call(sdk.listTagsApiContactsTagsGet({}));
export const listContactAttributeKeys = (): Promise<AttributeKeyCount[]> =>
  call(sdk.listAttributeKeysApiContactsAttributeKeysGet({}));

// --- audit log (admin) ------------------------------------------------------------------------------------
export type AuditEntry = AuditEntryOut;
export type AuditFilters = { action?: string; actorId?: string; targetType?: string; targetId?: string; since?: string; until?: string };

/** Every action the log records, sorted (the server's catalogue, so new actions appear without a web change). */
export const listAuditActions = (): Promise<string[]> => call(sdk.listAuditActionsApiAuditActionsGet({})).then((r: AuditActions) => r.actions);

export const listAudit = (filters: AuditFilters, cursor: string | null): Promise<PageAuditEntryOut> =>
  call(
    sdk.listAuditApiAuditGet({
      query: {
        action: filters.action || undefined,
        actorId: filters.actorId || undefined,
        targetType: filters.targetType || undefined,
        targetId: filters.targetId || undefined,
        since: filters.since || undefined,
        until: filters.until || undefined,
        cursor: cursor ?? undefined,
        limit: 50,
      },
    }),
  );

// --- API keys (admin) -------------------------------------------------------------------------------------
export type { ApiKeyCreated, ApiKeyOut, ApiKeyScope };

export const listApiKeys = (): Promise<ApiKeyOut[]> => call(sdk.listKeysApiApiKeysGet({}));
export const createApiKey = (name: string, scopes: ApiKeyScope[]): Promise<ApiKeyCreated> =>
  call(sdk.createKeyApiApiKeysPost({ body: { name, scopes } }));
export const renameApiKey = (id: string, name: string): Promise<ApiKeyOut> =>
  call(sdk.renameKeyApiApiKeysKeyIdPatch({ path: { key_id: id }, body: { name } }));
export const rotateApiKey = (id: string): Promise<ApiKeyCreated> =>
  call(sdk.rotateKeyApiApiKeysKeyIdRotatePost({ path: { key_id: id } }));
export const revokeApiKey = (id: string): Promise<unknown> =>
  call(sdk.revokeKeyApiApiKeysKeyIdDelete({ path: { key_id: id } }));

// --- outbound webhooks (admin) ----------------------------------------------------------------------------
export type { DeliveryDetail, DeliveryOut, DeliveryStatus, WebhookCreated, WebhookOut };

export const listWebhookEventTypes = (): Promise<string[]> => call(sdk.listEventTypesApiIntegrationsWebhooksEventsGet({}));
export const listWebhooks = (): Promise<WebhookOut[]> => call(sdk.listWebhooksApiIntegrationsWebhooksGet({}));
export const createWebhook = (body: WebhookCreate): Promise<WebhookCreated> =>
  call(sdk.createWebhookApiIntegrationsWebhooksPost({ body }));
export const updateWebhook = (id: string, body: WebhookUpdate): Promise<WebhookOut> =>
  call(sdk.updateWebhookApiIntegrationsWebhooksWebhookIdPatch({ path: { webhook_id: id }, body }));
export const deleteWebhook = (id: string): Promise<unknown> =>
  call(sdk.deleteWebhookApiIntegrationsWebhooksWebhookIdDelete({ path: { webhook_id: id } }));
export const rotateWebhookSecret = (id: string): Promise<string> =>
  call(sdk.rotateSecretApiIntegrationsWebhooksWebhookIdRotateSecretPost({ path: { webhook_id: id } })).then((r) => r.secret);
export const sendWebhookTest = (id: string): Promise<DeliveryOut> =>
  call(sdk.sendTestApiIntegrationsWebhooksWebhookIdTestPost({ path: { webhook_id: id } }));
export const listDeliveries = (id: string, status: DeliveryStatus | undefined, cursor: string | null): Promise<PageDeliveryOut> =>
  call(
    sdk.listDeliveriesApiIntegrationsWebhooksWebhookIdDeliveriesGet({
      path: { webhook_id: id },
      query: { status, cursor: cursor ?? undefined, limit: 25 },
    }),
  );
export const getDelivery = (webhookId: string, deliveryId: string): Promise<DeliveryDetail> =>
  call(
    sdk.getDeliveryApiIntegrationsWebhooksWebhookIdDeliveriesDeliveryIdGet({
      path: { webhook_id: webhookId, delivery_id: deliveryId },
    }),
  );
export const replayDelivery = (webhookId: string, deliveryId: string): Promise<DeliveryOut> =>
  call(
    sdk.replayDeliveryApiIntegrationsWebhooksWebhookIdDeliveriesDeliveryIdReplayPost({
      path: { webhook_id: webhookId, delivery_id: deliveryId },
    }),
  );
