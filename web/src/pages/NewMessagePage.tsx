import { Alert, Paper, Select, Stack, TextInput } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useState } from "react";
import { applyMessage, keys } from "../api/cache";
import { usePhoneNumbers, useTemplates } from "../api/hooks";
import { sendMessage } from "../api/resources";
import { TemplatePicker, type TemplateSend } from "../features/inbox/TemplatePicker";
import { uuid } from "../lib/id";
import { Page } from "./Page";

const E164 = /^\+?[1-9]\d{6,14}$/;

/** Start a conversation with any WhatsApp number: an approved template is the only way to write first. */
export function NewMessagePage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const numbers = usePhoneNumbers();
  const templates = useTemplates();
  const connected = (numbers.data ?? []).filter((n) => n.status === "connected");
  const [numberId, setNumberId] = useState<string | null>(null);
  const [to, setTo] = useState("");
  const chosenNumber = numberId ?? connected[0]?.id ?? null;
  const cleaned = to.replace(/[\s().-]/g, "");
  const validTo = E164.test(cleaned);
  const waba = connected.find((n) => n.id === chosenNumber)?.wabaId;
  const usableTemplates = templates.data?.filter((t) => !waba || t.wabaId === waba);

  const send = useMutation({
    mutationFn: (template: TemplateSend) =>
      sendMessage(
        {
          phoneNumberId: chosenNumber ?? undefined,
          to: cleaned.startsWith("+") ? cleaned : `+${cleaned}`,
          type: "template",
          template: { name: template.name, language: template.language, components: template.components },
        },
        uuid(),
      ),
    onSuccess: (message) => {
      applyMessage(queryClient, message);
      void queryClient.invalidateQueries({ queryKey: keys.conversations });
      notifications.show({ color: "teal", message: "Template queued for sending." });
      void navigate({ to: "/inbox/$conversationId", params: { conversationId: message.conversationId } });
    },
  });

  return (
    <Page title="New message" description="Write first to any WhatsApp number with an approved template." maw={760}>
      <Paper withBorder p="lg" radius="md">
        <Stack gap="md">
          {numbers.isSuccess && connected.length === 0 && (
            <Alert color="orange" variant="light">
              No connected WhatsApp number. An administrator can connect one in Settings.
            </Alert>
          )}
          <Select
            label="From"
            data={connected.map((n) => ({ value: n.id, label: `${n.displayPhoneNumber} · ${n.name || n.verifiedName || n.phoneNumberId}` }))}
            value={chosenNumber}
            onChange={setNumberId}
            placeholder={numbers.isLoading ? "Loading numbers…" : "Choose a number"}
            allowDeselect={false}
          />
          <TextInput
            label="To"
            description="The customer's WhatsApp number in international format, e.g. +15551234001"
            placeholder="+15551234001"
            value={to}
            onChange={(e) => setTo(e.currentTarget.value)}
            error={to && !validTo ? "Enter the number with its country code, digits only." : undefined}
            inputMode="tel"
            autoComplete="off"
          />
          <TemplatePicker
            templates={usableTemplates}
            loading={templates.isLoading}
            unavailable={templates.unavailable}
            sending={send.isPending}
            submitLabel="Send"
            onSend={(template) => {
              if (!validTo || !chosenNumber) {
                notifications.show({ color: "orange", message: "Choose a number to send from and a valid recipient." });
                return;
              }
              send.mutate(template);
            }}
          />
        </Stack>
      </Paper>
    </Page>
  );
}
