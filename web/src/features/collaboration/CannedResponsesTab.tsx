import { Button, Code, Group, Modal, Paper, Skeleton, Stack, Table, Text, Textarea, TextInput } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconMessageBolt, IconPlus, IconSearch } from "@tabler/icons-react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { keys } from "../../api/cache";
import {
  createCanned,
  deleteCanned,
  updateCanned,
  useCannedResponses,
  type CannedResponseOut,
} from "../../api/collaboration";
import { useUsers } from "../../api/hooks";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";

const VARIABLES = ["{{contact.name}}", "{{contact.first_name}}", "{{contact.phone}}", "{{agent.name}}"];

type Form = { shortCode: string; title: string; body: string };
const EMPTY: Form = { shortCode: "", title: "", body: "" };

function CannedModal({ canned, opened, onClose }: { canned: CannedResponseOut | null; opened: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [form, setForm] = useState<Form>(EMPTY);
  const [loadedFor, setLoadedFor] = useState<string | null | undefined>(undefined);
  if (opened && loadedFor !== (canned?.id ?? null)) {
    setLoadedFor(canned?.id ?? null);
    setForm(canned ? { shortCode: canned.shortCode, title: canned.title, body: canned.body } : EMPTY);
  }
  const save = useMutation({
    mutationFn: () => {
      const body = { shortCode: form.shortCode.trim().replace(/^\//, ""), title: form.title.trim(), body: form.body };
      return canned ? updateCanned(canned.id, body) : createCanned(body);
    },
    meta: { silent: true },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.canned });
      notifications.show({ color: "teal", message: canned ? "Canned response saved." : "Canned response added." });
      close();
    },
  });
  const close = () => {
    setLoadedFor(undefined);
    save.reset();
    onClose();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  const set = (field: keyof Form) => (event: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => {
    // Read now: React clears currentTarget before a state updater runs.
    const value = event.currentTarget.value;
    setForm((f) => ({ ...f, [field]: value }));
  };
  return (
    <Modal opened={opened} onClose={close} title={canned ? `Edit /${canned.shortCode}` : "Add a canned response"} size="lg">
      <form onSubmit={submit}>
        <Stack gap="sm">
          <Group grow align="flex-start" wrap="wrap">
            <TextInput
              label="Short code"
              description="Typed as /code in the composer"
              leftSection={<Text size="sm">/</Text>}
              placeholder="thanks"
              value={form.shortCode}
              onChange={set("shortCode")}
              required
              maxLength={33}
              data-autofocus
            />
            <TextInput label="Title" description="Shown next to the code" value={form.title} onChange={set("title")} maxLength={200} />
          </Group>
          <Textarea
            label="Text"
            description={`You can use ${VARIABLES.join(", ")}: they are filled in when the response is inserted.`}
            value={form.body}
            onChange={set("body")}
            required
            autosize
            minRows={4}
            maxRows={12}
            maxLength={4096}
          />
          {save.error ? <ApiErrorAlert error={save.error} /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending} disabled={!form.shortCode.trim() || !form.body.trim()}>
              {canned ? "Save" : "Add"}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** Canned responses: everyone adds them; their author or an administrator changes or deletes them. */
export function CannedResponsesTab({ admin, meId }: { admin: boolean; meId: string | undefined }) {
  const queryClient = useQueryClient();
  const canned = useCannedResponses();
  const users = useUsers();
  const [search, setSearch] = useState("");
  const [editing, setEditing] = useState<CannedResponseOut | null>(null);
  const [opened, setOpened] = useState(false);
  const remove = useMutation({
    mutationFn: (id: string) => deleteCanned(id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.canned });
      notifications.show({ color: "teal", message: "Canned response deleted." });
    },
  });
  const q = search.trim().toLowerCase().replace(/^\//, "");
  const shown = (canned.data ?? []).filter(
    (c) => !q || c.shortCode.includes(q) || c.title.toLowerCase().includes(q) || c.body.toLowerCase().includes(q),
  );
  const author = (id: string | null) => (id ? (users.data?.find((u) => u.id === id)?.name ?? "A former teammate") : "—");
  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <Text c="dimmed" size="sm" maw={560}>
          Saved replies: type <Code>/</Code> and the short code in the composer, then Enter or Tab to insert one.
        </Text>
        <Button
          leftSection={<IconPlus size={16} />}
          onClick={() => {
            setEditing(null);
            setOpened(true);
          }}
        >
          Add canned response
        </Button>
      </Group>
      <TextInput
        placeholder="Search by code, title or text"
        aria-label="Search canned responses"
        leftSection={<IconSearch size={16} />}
        value={search}
        onChange={(e) => setSearch(e.currentTarget.value)}
        maw={360}
      />
      {canned.error ? <ApiErrorAlert error={canned.error} title="Canned responses could not be loaded" /> : null}
      <Paper withBorder radius="md">
        <Table.ScrollContainer minWidth={640}>
          <Table verticalSpacing="sm" aria-label="Canned responses">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Code</Table.Th>
                <Table.Th>Title</Table.Th>
                <Table.Th>Text</Table.Th>
                <Table.Th>Added by</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {canned.isLoading && (
                <Table.Tr>
                  <Table.Td colSpan={5}>
                    <Skeleton height={20} />
                  </Table.Td>
                </Table.Tr>
              )}
              {shown.map((c) => {
                const mayEdit = admin || c.createdById === meId;
                return (
                  <Table.Tr key={c.id}>
                    <Table.Td>
                      <Code>/{c.shortCode}</Code>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{c.title || "—"}</Text>
                    </Table.Td>
                    <Table.Td maw={360}>
                      <Text size="sm" lineClamp={2} style={{ whiteSpace: "pre-wrap" }}>
                        {c.body}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" c="dimmed">
                        {author(c.createdById)}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      {mayEdit && (
                        <Group gap={4} justify="flex-end" wrap="nowrap">
                          <Button
                            size="xs"
                            variant="subtle"
                            aria-label={`Edit /${c.shortCode}`}
                            onClick={() => {
                              setEditing(c);
                              setOpened(true);
                            }}
                          >
                            Edit
                          </Button>
                          <Button
                            size="xs"
                            variant="subtle"
                            color="red"
                            aria-label={`Delete /${c.shortCode}`}
                            loading={remove.isPending && remove.variables === c.id}
                            onClick={() => {
                              if (window.confirm(`Delete the canned response /${c.shortCode}?`)) remove.mutate(c.id);
                            }}
                          >
                            Delete
                          </Button>
                        </Group>
                      )}
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        {canned.isSuccess && shown.length === 0 && (
          <Stack align="center" gap={4} p="xl">
            <IconMessageBolt size={28} color="var(--mantine-color-dimmed)" />
            <Text c="dimmed" ta="center">
              {canned.data.length === 0 ? "No canned responses yet." : "Nothing matches your search."}
            </Text>
          </Stack>
        )}
      </Paper>
      <CannedModal canned={editing} opened={opened} onClose={() => setOpened(false)} />
    </Stack>
  );
}
