import { Alert, Badge, Button, Divider, Group, Skeleton, Stack, Switch, TagsInput, Text, TextInput } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { keys } from "../../api/cache";
import { ApiError } from "../../api/http";
import { getContact, updateContact, type Contact, type ContactUpdate } from "../../api/resources";
import { phone, relative } from "../../lib/format";

export type ContactSummary = { id: string; name: string; waId: string | null; optedOut?: boolean; blocked?: boolean };

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Stack gap={0}>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" component="div">
        {children}
      </Text>
    </Stack>
  );
}

/** A contact's details with editing of name, tags, opt-out and block (where the contacts API is present). */
export function ContactDetails({ summary }: { summary: ContactSummary }) {
  const queryClient = useQueryClient();
  const query = useQuery({
    queryKey: keys.contact(summary.id),
    queryFn: () => getContact(summary.id),
    meta: { silent: true },
    retry: false,
  });
  const contact: Contact | undefined = query.data;
  const missingApi = query.error instanceof ApiError && query.error.status === 404;
  const [name, setName] = useState("");
  const [tags, setTags] = useState<string[]>([]);
  useEffect(() => {
    if (contact) {
      setName(contact.savedName ?? "");
      setTags(contact.tags ?? []);
    }
  }, [contact]);

  const save = useMutation({
    mutationFn: (body: ContactUpdate) => updateContact(summary.id, body),
    onSuccess: (saved) => {
      queryClient.setQueryData(keys.contact(summary.id), saved);
      void queryClient.invalidateQueries({ queryKey: keys.contacts });
      void queryClient.invalidateQueries({ queryKey: keys.conversations });
      notifications.show({ color: "teal", message: "Contact saved." });
    },
  });

  const optedOut = contact?.optedOut ?? summary.optedOut ?? false;
  const blocked = contact?.blocked ?? summary.blocked ?? false;
  const dirty = contact && (name !== (contact.savedName ?? "") || JSON.stringify(tags) !== JSON.stringify(contact.tags ?? []));
  return (
    <Stack gap="sm" data-testid="contact-details">
      <Row label="WhatsApp number">{phone(summary.waId) || "—"}</Row>
      {contact?.lastSeenAt && <Row label="Last message from them">{relative(contact.lastSeenAt)}</Row>}
      <Group gap={6}>
        {optedOut ? <Badge color="red">Opted out</Badge> : <Badge color="teal" variant="light">Subscribed</Badge>}
        {blocked && <Badge color="dark">Blocked</Badge>}
      </Group>
      <Divider />
      {query.isLoading ? (
        <Stack gap="xs">
          <Skeleton height={30} />
          <Skeleton height={30} />
        </Stack>
      ) : missingApi ? (
        <Alert color="gray" variant="light">
          Editing contacts needs the contacts API, which this server does not offer yet.
        </Alert>
      ) : contact ? (
        <Stack gap="xs">
          <TextInput size="xs" label="Saved name" description={contact.profileName ? `WhatsApp profile: ${contact.profileName}` : undefined} value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <TagsInput size="xs" label="Tags" value={tags} onChange={setTags} placeholder="Add a tag and press Enter" clearable />
          <Button size="xs" onClick={() => save.mutate({ name: name.trim(), tags })} disabled={!dirty} loading={save.isPending}>
            Save
          </Button>
          <Switch
            size="sm"
            label="Opted out of messages"
            description="No message can be sent to an opted-out contact."
            checked={optedOut}
            onChange={(e) => save.mutate({ optedOut: e.currentTarget.checked })}
            disabled={save.isPending}
          />
          <Switch
            size="sm"
            label="Blocked"
            checked={blocked}
            onChange={(e) => save.mutate({ blocked: e.currentTarget.checked })}
            disabled={save.isPending}
          />
        </Stack>
      ) : query.error ? (
        <Text size="sm" c="red">
          {query.error.message}
        </Text>
      ) : null}
    </Stack>
  );
}
