import { Badge, Button, Checkbox, Group, Modal, Paper, Skeleton, Stack, Table, Text, TextInput, Tooltip } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconKey, IconPlus } from "@tabler/icons-react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { keys } from "../../api/cache";
import {
  createApiKey,
  listApiKeys,
  renameApiKey,
  revokeApiKey,
  rotateApiKey,
  type ApiKeyOut,
  type ApiKeyScope,
} from "../../api/resources";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { dayjs, fullTime, relative } from "../../lib/format";
import { SecretOnceModal } from "./SecretOnceModal";

const SCOPES: { value: ApiKeyScope; label: string; description: string }[] = [
  { value: "read", label: "Read", description: "GET routes: conversations, messages, contacts, templates…" },
  { value: "send", label: "Send", description: "Sending messages" },
  { value: "admin", label: "Admin", description: "Everything, administrator routes included" },
];
const SCOPE_COLOR: Record<ApiKeyScope, string> = { read: "blue", send: "teal", admin: "red" };

function CreateKeyModal({ opened, onClose, onCreated }: { opened: boolean; onClose: () => void; onCreated: (key: string) => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["read"]);
  const create = useMutation({
    mutationFn: () => createApiKey(name.trim(), scopes as ApiKeyScope[]),
    meta: { silent: true },
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: keys.apiKeys });
      setName("");
      setScopes(["read"]);
      create.reset();
      onCreated(created.key);
    },
  });
  const close = () => {
    create.reset();
    onClose();
  };
  return (
    <Modal opened={opened} onClose={close} title="Create an API key">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Stack gap="sm">
          <TextInput
            label="Name"
            description="What uses it, e.g. “CRM sync”."
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            required
            maxLength={120}
            data-autofocus
          />
          <Checkbox.Group label="Scopes" description="The key acts for you, within these scopes." value={scopes} onChange={setScopes} required>
            <Stack gap={6} mt={6}>
              {SCOPES.map((scope) => (
                <Checkbox key={scope.value} value={scope.value} label={scope.label} description={scope.description} />
              ))}
            </Stack>
          </Checkbox.Group>
          {create.error ? <ApiErrorAlert error={create.error} /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending} disabled={!name.trim() || scopes.length === 0}>
              Create key
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function RenameModal({ apiKey, onClose }: { apiKey: ApiKeyOut | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState<string | null>(null);
  const rename = useMutation({
    mutationFn: () => renameApiKey(apiKey?.id ?? "", (name ?? "").trim()),
    meta: { silent: true },
    onSuccess: (updated) => {
      queryClient.setQueryData<ApiKeyOut[]>(keys.apiKeys, (old) => old?.map((k) => (k.id === updated.id ? updated : k)));
      notifications.show({ color: "teal", message: "Key renamed." });
      close();
    },
  });
  const close = () => {
    setName(null);
    rename.reset();
    onClose();
  };
  const value = name ?? apiKey?.name ?? "";
  return (
    <Modal opened={Boolean(apiKey)} onClose={close} title="Rename the key">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          rename.mutate();
        }}
      >
        <Stack gap="sm">
          <TextInput label="Name" value={value} onChange={(e) => setName(e.currentTarget.value)} required maxLength={120} data-autofocus />
          {rename.error ? <ApiErrorAlert error={rename.error} /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={rename.isPending} disabled={!value.trim() || value.trim() === apiKey?.name}>
              Save
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** The company's API keys: create (the key is shown once), rename, replace the secret, revoke. */
export function ApiKeysTab() {
  const queryClient = useQueryClient();
  const apiKeys = useQuery({ queryKey: keys.apiKeys, queryFn: listApiKeys });
  const [creating, setCreating] = useState(false);
  const [renaming, setRenaming] = useState<ApiKeyOut | null>(null);
  const [shown, setShown] = useState<{ key: string; title: string } | null>(null);
  const revoke = useMutation({
    mutationFn: (id: string) => revokeApiKey(id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.apiKeys });
      notifications.show({ color: "teal", message: "Key revoked: it no longer works." });
    },
  });
  const rotate = useMutation({
    mutationFn: (id: string) => rotateApiKey(id),
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: keys.apiKeys });
      setShown({ key: created.key, title: `New secret for “${created.name}”` });
    },
  });
  const items = apiKeys.data ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Text c="dimmed" size="sm" maw={640}>
          Keys let other systems use the API as <Text span ff="monospace">Authorization: Bearer wdk_…</Text>. Each acts for the administrator who
          created it, within its scopes.
        </Text>
        <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
          Create API key
        </Button>
      </Group>
      <Paper withBorder radius="md">
        <Table.ScrollContainer minWidth={760}>
          <Table verticalSpacing="sm" aria-label="API keys">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Scopes</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {apiKeys.isLoading && (
                <Table.Tr>
                  <Table.Td colSpan={6}>
                    <Skeleton height={20} />
                  </Table.Td>
                </Table.Tr>
              )}
              {items.map((k) => {
                const revoked = Boolean(k.revokedAt);
                return (
                  <Table.Tr key={k.id} opacity={revoked ? 0.55 : 1} data-testid="api-key-row">
                    <Table.Td>
                      <Text size="sm" fw={600}>
                        {k.name}
                      </Text>
                      <Text size="xs" c="dimmed" ff="monospace">
                        {k.prefix}…
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        {k.scopes.map((s) => (
                          <Badge key={s} size="sm" variant="light" color={SCOPE_COLOR[s]}>
                            {s}
                          </Badge>
                        ))}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" c="dimmed">
                        {k.lastUsedAt ? relative(k.lastUsedAt) : "never"}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Tooltip label={fullTime(k.createdAt)}>
                        <Text size="sm" c="dimmed">
                          {dayjs(k.createdAt).format("D MMM YYYY")}
                        </Text>
                      </Tooltip>
                    </Table.Td>
                    <Table.Td>
                      {revoked ? (
                        <Tooltip label={`Revoked ${fullTime(k.revokedAt ?? "")}`}>
                          <Badge color="gray" size="sm">
                            revoked
                          </Badge>
                        </Tooltip>
                      ) : (
                        <Badge color="teal" size="sm">
                          active
                        </Badge>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4} justify="flex-end" wrap="nowrap">
                        <Button size="xs" variant="subtle" onClick={() => setRenaming(k)} aria-label={`Rename ${k.name}`}>
                          Rename
                        </Button>
                        {!revoked && (
                          <>
                            <Button
                              size="xs"
                              variant="subtle"
                              loading={rotate.isPending && rotate.variables === k.id}
                              onClick={() => {
                                if (window.confirm(`Replace the secret of “${k.name}”? The current key stops working at once.`)) rotate.mutate(k.id);
                              }}
                              aria-label={`Replace the secret of ${k.name}`}
                            >
                              New secret
                            </Button>
                            <Button
                              size="xs"
                              variant="subtle"
                              color="red"
                              loading={revoke.isPending && revoke.variables === k.id}
                              onClick={() => {
                                if (window.confirm(`Revoke “${k.name}”? Anything using it stops working at once; this cannot be undone.`)) revoke.mutate(k.id);
                              }}
                              aria-label={`Revoke ${k.name}`}
                            >
                              Revoke
                            </Button>
                          </>
                        )}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        {apiKeys.isSuccess && items.length === 0 && (
          <Stack align="center" gap={4} p="xl">
            <IconKey size={28} stroke={1.4} color="var(--mantine-color-dimmed)" />
            <Text c="dimmed" size="sm">
              No API key yet.
            </Text>
          </Stack>
        )}
      </Paper>
      <CreateKeyModal
        opened={creating}
        onClose={() => setCreating(false)}
        onCreated={(key) => {
          setCreating(false);
          setShown({ key, title: "Your new API key" });
        }}
      />
      <RenameModal apiKey={renaming} onClose={() => setRenaming(null)} />
      <SecretOnceModal
        secret={shown?.key ?? null}
        title={shown?.title ?? ""}
        label="API key"
        hint="Send it as Authorization: Bearer <key>. Store it in your system's secret store, not in code."
        onClose={() => setShown(null)}
      />
    </Stack>
  );
}
