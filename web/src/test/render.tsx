import { MantineProvider } from "@mantine/core";
import { render, type RenderOptions } from "@testing-library/react";
import type { ReactElement } from "react";
import type { MessageOut } from "../api/resources";

export function renderUi(ui: ReactElement, options?: RenderOptions) {
  return render(<MantineProvider env="test">{ui}</MantineProvider>, options);
}

let counter = 0;

/** A message as the API returns it; tests override what they are about. */
export function message(overrides: Partial<MessageOut> & Pick<MessageOut, "type" | "content">): MessageOut {
  counter += 1;
  return {
    id: `00000000-0000-4000-8000-${String(counter).padStart(12, "0")}`,
    conversationId: "11111111-1111-4111-8111-111111111111",
    contactId: "22222222-2222-4222-8222-222222222222",
    phoneNumberId: "33333333-3333-4333-8333-333333333333",
    direction: "inbound",
    wamid: `wamid.TEST${counter}`,
    status: "received",
    error: null,
    createdAt: "2026-11-20T10:15:00Z",
    senderUserId: null,
    replyToMessageId: null,
    replyToWamid: null,
    reactions: [],
    sentAt: null,
    deliveredAt: null,
    readAt: null,
    failedAt: null,
    ...overrides,
  };
}
