import { Alert, Avatar, Badge, Button, Center, Drawer, Group, Paper, Skeleton, Stack, Table, Text, TextInput } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconSearch } from "@tabler/icons-react";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { useEffect, useState } from "react";
import { keys } from "../api/cache";
import { ApiError } from "../api/http";
import { listContacts, type Contact } from "../api/resources";
import { ContactDetails } from "../features/contacts/ContactDetails";
import { initials, phone, relative } from "../lib/format";
import { Page } from "./Page";

function contactName(c: Contact): string {
  return c.name || c.profileName || (c.waId ? phone(c.waId) : "Unknown");
}

export function ContactsPage() {
  const search = useSearch({ from: "/app/contacts" });
  const navigate = useNavigate();
  const [text, setText] = useState(search.q ?? "");
  const [debounced] = useDebouncedValue(text, 300);
  useEffect(() => {
    if ((search.q ?? "") !== debounced) void navigate({ to: "/contacts", search: { ...search, q: debounced || undefined } });
  }, [debounced, navigate, search]);

  const contacts = useInfiniteQuery({
    queryKey: [...keys.contacts, search.q ?? ""],
    queryFn: ({ pageParam }) => listContacts(search.q ?? "", pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    meta: { silent: true },
    retry: false,
  });
  const items = contacts.data?.pages.flatMap((p) => p.items) ?? [];
  const selected = items.find((c) => c.id === search.id);
  const missingApi = contacts.error instanceof ApiError && contacts.error.status === 404;

  return (
    <Page title="Contacts" description="Everyone who wrote to you or whom you wrote to on WhatsApp.">
      <TextInput
        leftSection={<IconSearch size={16} />}
        placeholder="Search by name or number"
        aria-label="Search contacts"
        value={text}
        onChange={(e) => setText(e.currentTarget.value)}
        maw={420}
      />
      {missingApi ? (
        <Alert color="gray" variant="light" title="Contacts are not available">
          This server does not offer the contacts API yet. Contacts still appear in each conversation’s side panel.
        </Alert>
      ) : contacts.isError ? (
        <Alert color="red" variant="light">
          {contacts.error.message}
        </Alert>
      ) : (
        <Paper withBorder radius="md">
          <Table.ScrollContainer minWidth={560}>
            <Table highlightOnHover verticalSpacing="sm" aria-label="Contacts">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>WhatsApp number</Table.Th>
                  <Table.Th>Tags</Table.Th>
                  <Table.Th>Last seen</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {contacts.isLoading &&
                  Array.from({ length: 5 }, (_, i) => (
                    <Table.Tr key={i}>
                      {Array.from({ length: 4 }, (__, j) => (
                        <Table.Td key={j}>
                          <Skeleton height={14} />
                        </Table.Td>
                      ))}
                    </Table.Tr>
                  ))}
                {items.map((contact) => (
                  <Table.Tr
                    key={contact.id}
                    style={{ cursor: "pointer" }}
                    onClick={() => void navigate({ to: "/contacts", search: { ...search, id: contact.id } })}
                    tabIndex={0}
                    onKeyDown={(e) => {
                      if (e.key === "Enter") void navigate({ to: "/contacts", search: { ...search, id: contact.id } });
                    }}
                  >
                    <Table.Td>
                      <Group gap="sm" wrap="nowrap">
                        <Avatar size="sm" radius="xl" color="teal">
                          {initials(contactName(contact))}
                        </Avatar>
                        <Text size="sm" fw={500}>
                          {contactName(contact)}
                        </Text>
                        {contact.optedOut && (
                          <Badge size="xs" color="red">
                            opted out
                          </Badge>
                        )}
                        {contact.blocked && (
                          <Badge size="xs" color="dark">
                            blocked
                          </Badge>
                        )}
                      </Group>
                    </Table.Td>
                    <Table.Td>{phone(contact.waId)}</Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        {(contact.tags ?? []).map((tag) => (
                          <Badge key={tag} size="xs" variant="light">
                            {tag}
                          </Badge>
                        ))}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" c="dimmed">
                        {contact.lastSeenAt ? relative(contact.lastSeenAt) : "—"}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {contacts.isSuccess && items.length === 0 && (
            <Center p="xl">
              <Text c="dimmed">{search.q ? "No contact matches your search." : "No contacts yet."}</Text>
            </Center>
          )}
          {contacts.hasNextPage && (
            <Center p="sm">
              <Button variant="subtle" onClick={() => void contacts.fetchNextPage()} loading={contacts.isFetchingNextPage}>
                Load more
              </Button>
            </Center>
          )}
        </Paper>
      )}
      <Drawer
        opened={Boolean(selected)}
        onClose={() => void navigate({ to: "/contacts", search: { ...search, id: undefined } })}
        title={selected ? contactName(selected) : ""}
        position="right"
      >
        {selected && (
          <Stack>
            <ContactDetails summary={{ id: selected.id, name: contactName(selected), waId: selected.waId, optedOut: selected.optedOut, blocked: selected.blocked }} />
          </Stack>
        )}
      </Drawer>
    </Page>
  );
}
