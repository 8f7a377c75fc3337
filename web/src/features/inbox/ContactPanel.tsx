import { Avatar, Box, CloseButton, Group, ScrollArea, Stack, Text, Title } from "@mantine/core";
import type { ConversationOut } from "../../api/resources";
import { fullTime, initials } from "../../lib/format";
import { ContactDetails } from "../contacts/ContactDetails";

export function ContactPanel({ conversation, onClose }: { conversation: ConversationOut; onClose: () => void }) {
  return (
    <Box className="contact-panel" component="aside" aria-label="Contact details">
      <Group justify="space-between" px="md" py="xs" className="panel-header">
        <Title order={3} size="h6">
          Contact
        </Title>
        <CloseButton aria-label="Close contact details" onClick={onClose} />
      </Group>
      <ScrollArea style={{ flex: 1 }}>
        <Stack p="md" gap="md">
          <Stack align="center" gap={4}>
            <Avatar size={72} radius="xl" color="teal">
              {initials(conversation.contact.name)}
            </Avatar>
            <Text fw={600} ta="center">
              {conversation.contact.name}
            </Text>
          </Stack>
          <ContactDetails summary={conversation.contact} />
          <Stack gap={4}>
            <Text size="xs" c="dimmed">
              Conversation
            </Text>
            <Text size="sm">
              On {conversation.phoneNumber.displayPhoneNumber} · started {fullTime(conversation.createdAt)}
            </Text>
            <Text size="sm">Assigned to {conversation.assignee?.name ?? "nobody"}</Text>
          </Stack>
        </Stack>
      </ScrollArea>
    </Box>
  );
}
