import {
  Alert,
  Badge,
  Button,
  Group,
  Modal,
  NumberInput,
  Paper,
  PasswordInput,
  Select,
  SimpleGrid,
  Skeleton,
  Stack,
  Switch,
  Table,
  Tabs,
  Text,
  TextInput,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import {
  IconBell,
  IconBuilding,
  IconKey,
  IconMessageBolt,
  IconPhone,
  IconPlus,
  IconTag,
  IconUsers,
  IconWebhook,
} from "@tabler/icons-react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { useState, type FormEvent } from "react";
import { keys } from "../api/cache";
import { usePhoneNumbers, useUsers } from "../api/hooks";
import {
  createPhoneNumber,
  createUser,
  deletePhoneNumber,
  updatePhoneNumber,
  updateTenant,
  updateUser,
  type PhoneNumberOut,
  type UserDetail,
} from "../api/resources";
import { useAuth } from "../auth/AuthProvider";
import { CannedResponsesTab } from "../features/collaboration/CannedResponsesTab";
import { LabelsTab } from "../features/collaboration/LabelsTab";
import { ApiKeysTab } from "../features/settings/ApiKeysTab";
import { WebhooksTab } from "../features/settings/WebhooksTab";
import { relative } from "../lib/format";
import { useAlertPreferences } from "../lib/preferences";
import { Page } from "./Page";

const QUALITY_COLOR: Record<string, string> = { GREEN: "teal", YELLOW: "yellow", RED: "red" };

type NumberForm = {
  name: string;
  wabaId: string;
  phoneNumberId: string;
  displayPhoneNumber: string;
  verifiedName: string;
  accessToken: string;
  appSecret: string;
  messagesPerSecond: number;
};

const EMPTY_NUMBER: NumberForm = {
  name: "",
  wabaId: "",
  phoneNumberId: "",
  displayPhoneNumber: "",
  verifiedName: "",
  accessToken: "",
  appSecret: "",
  messagesPerSecond: 80,
};

/** Add or edit a number. Stored credentials are never shown: leaving the token empty keeps the current one. */
function NumberModal({ number, opened, onClose }: { number: PhoneNumberOut | null; opened: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const editing = Boolean(number);
  const [form, setForm] = useState<NumberForm>(EMPTY_NUMBER);
  const [loadedFor, setLoadedFor] = useState<string | null | undefined>(undefined);
  if (opened && loadedFor !== (number?.id ?? null)) {
    setLoadedFor(number?.id ?? null);
    setForm(
      number
        ? {
            ...EMPTY_NUMBER,
            name: number.name,
            wabaId: number.wabaId,
            phoneNumberId: number.phoneNumberId,
            displayPhoneNumber: number.displayPhoneNumber,
            verifiedName: number.verifiedName ?? "",
            messagesPerSecond: number.messagesPerSecond,
          }
        : EMPTY_NUMBER,
    );
  }
  const close = () => {
    setLoadedFor(undefined);
    onClose();
  };
  const save = useMutation({
    mutationFn: () =>
      number
        ? updatePhoneNumber(number.id, {
            name: form.name,
            displayPhoneNumber: form.displayPhoneNumber,
            verifiedName: form.verifiedName || null,
            messagesPerSecond: form.messagesPerSecond,
            accessToken: form.accessToken || undefined,
            appSecret: form.appSecret || undefined,
          })
        : createPhoneNumber({
            name: form.name,
            wabaId: form.wabaId.trim(),
            phoneNumberId: form.phoneNumberId.trim(),
            displayPhoneNumber: form.displayPhoneNumber,
            verifiedName: form.verifiedName || null,
            accessToken: form.accessToken,
            appSecret: form.appSecret || null,
            messagesPerSecond: form.messagesPerSecond,
          }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.phoneNumbers });
      notifications.show({ color: "teal", message: editing ? "Number updated." : "Number connected." });
      close();
    },
  });
  const set = (field: keyof NumberForm) => (e: React.ChangeEvent<HTMLInputElement>) => {
    const value = e.currentTarget.value; // React clears currentTarget before the updater runs
    setForm((f) => ({ ...f, [field]: value }));
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <Modal opened={opened} onClose={close} title={editing ? "Edit WhatsApp number" : "Connect a WhatsApp number"} size="lg">
      <form onSubmit={submit}>
        <Stack gap="sm">
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput label="Name" description="Shown to agents" value={form.name} onChange={set("name")} />
            <TextInput label="Display number" placeholder="+1 555-000-0000" value={form.displayPhoneNumber} onChange={set("displayPhoneNumber")} required />
            <TextInput label="WhatsApp Business Account id" value={form.wabaId} onChange={set("wabaId")} required disabled={editing} inputMode="numeric" />
            <TextInput label="Phone number id" value={form.phoneNumberId} onChange={set("phoneNumberId")} required disabled={editing} inputMode="numeric" />
            <TextInput label="Verified name" value={form.verifiedName} onChange={set("verifiedName")} />
            <NumberInput
              label="Messages per second"
              min={1}
              max={1000}
              value={form.messagesPerSecond}
              onChange={(v) => setForm((f) => ({ ...f, messagesPerSecond: Number(v) || 80 }))}
            />
          </SimpleGrid>
          <PasswordInput
            label={editing ? "New access token" : "Access token"}
            description={editing ? "Stored tokens are never shown. Leave empty to keep the current one." : "A system user token with whatsapp_business_messaging."}
            value={form.accessToken}
            onChange={set("accessToken")}
            required={!editing}
            autoComplete="off"
          />
          <PasswordInput
            label={editing ? "New app secret (optional)" : "App secret (optional)"}
            description={
              editing
                ? number?.hasAppSecret
                  ? "This number has its own app secret. Leave empty to keep it."
                  : "Only for companies that bring their own Meta app."
                : "Only for companies that bring their own Meta app."
            }
            value={form.appSecret}
            onChange={set("appSecret")}
            autoComplete="off"
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending}>
              {editing ? "Save" : "Connect"}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function NumbersTab({ admin }: { admin: boolean }) {
  const numbers = usePhoneNumbers();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<PhoneNumberOut | null>(null);
  const [opened, setOpened] = useState(false);
  const remove = useMutation({
    mutationFn: (id: string) => deletePhoneNumber(id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.phoneNumbers });
      notifications.show({ color: "teal", message: "Number disconnected." });
    },
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Text c="dimmed" size="sm">
          WhatsApp numbers your agents answer from. Access tokens are stored encrypted and never shown again.
        </Text>
        {admin && (
          <Button
            leftSection={<IconPlus size={16} />}
            onClick={() => {
              setEditing(null);
              setOpened(true);
            }}
          >
            Connect number
          </Button>
        )}
      </Group>
      <Paper withBorder radius="md">
        <Table.ScrollContainer minWidth={700}>
          <Table verticalSpacing="sm" aria-label="Phone numbers">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Number</Table.Th>
                <Table.Th>Phone number id</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Quality</Table.Th>
                <Table.Th>Limit</Table.Th>
                {admin && <Table.Th />}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {numbers.isLoading && (
                <Table.Tr>
                  <Table.Td colSpan={6}>
                    <Skeleton height={20} />
                  </Table.Td>
                </Table.Tr>
              )}
              {(numbers.data ?? []).map((n) => (
                <Table.Tr key={n.id}>
                  <Table.Td>
                    <Text size="sm" fw={600}>
                      {n.displayPhoneNumber}
                    </Text>
                    <Text size="xs" c="dimmed">
                      {n.name || n.verifiedName}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" ff="monospace">
                      {n.phoneNumberId}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Badge color={n.status === "connected" ? "teal" : n.status === "needs_credentials" ? "red" : "gray"} size="sm">
                      {n.status.replace("_", " ")}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="light" color={QUALITY_COLOR[n.qualityRating.toUpperCase()] ?? "gray"} size="sm">
                      {n.qualityRating.toLowerCase()}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">
                      {n.messagesPerSecond}/s{n.messagingLimitTier ? ` · ${n.messagingLimitTier}` : ""}
                    </Text>
                  </Table.Td>
                  {admin && (
                    <Table.Td>
                      <Group gap={4} justify="flex-end" wrap="nowrap">
                        <Button
                          size="xs"
                          variant={n.status === "needs_credentials" ? "filled" : "subtle"}
                          color={n.status === "needs_credentials" ? "red" : undefined}
                          onClick={() => {
                            setEditing(n);
                            setOpened(true);
                          }}
                        >
                          {n.status === "needs_credentials" ? "Enter new token" : "Edit"}
                        </Button>
                        <Button
                          size="xs"
                          variant="subtle"
                          color="red"
                          onClick={() => {
                            if (window.confirm(`Disconnect ${n.displayPhoneNumber}? Its history is kept.`)) remove.mutate(n.id);
                          }}
                        >
                          Disconnect
                        </Button>
                      </Group>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        {numbers.isSuccess && numbers.data.length === 0 && (
          <Text c="dimmed" ta="center" p="xl">
            No WhatsApp number connected yet.
          </Text>
        )}
      </Paper>
      <NumberModal number={editing} opened={opened} onClose={() => setOpened(false)} />
    </Stack>
  );
}

function InviteModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ name: "", email: "", role: "agent", password: "" });
  const invite = useMutation({
    mutationFn: () => createUser({ name: form.name, email: form.email.trim(), role: form.role as "admin" | "agent", password: form.password }),
    onSuccess: (user) => {
      void queryClient.invalidateQueries({ queryKey: keys.users });
      notifications.show({ color: "teal", message: `${user.name} can now sign in with ${user.email}.` });
      setForm({ name: "", email: "", role: "agent", password: "" });
      onClose();
    },
  });
  return (
    <Modal opened={opened} onClose={onClose} title="Invite a teammate">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          invite.mutate();
        }}
      >
        <Stack gap="sm">
          <TextInput label="Name" value={form.name} onChange={(e) => setForm({ ...form, name: e.currentTarget.value })} required />
          <TextInput label="Email" type="email" value={form.email} onChange={(e) => setForm({ ...form, email: e.currentTarget.value })} required />
          <Select
            label="Role"
            data={[
              { value: "agent", label: "Agent: answers conversations" },
              { value: "admin", label: "Administrator: also manages numbers and people" },
            ]}
            value={form.role}
            onChange={(v) => setForm({ ...form, role: v ?? "agent" })}
            allowDeselect={false}
          />
          <PasswordInput
            label="First password"
            description="Share it with them privately; at least 10 characters."
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.currentTarget.value })}
            required
            autoComplete="new-password"
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={invite.isPending} disabled={!form.name || !form.email || form.password.length < 10}>
              Invite
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function AgentsTab({ admin, meId }: { admin: boolean; meId: string | undefined }) {
  const users = useUsers();
  const queryClient = useQueryClient();
  const [inviting, setInviting] = useState(false);
  const change = useMutation({
    mutationFn: ({ id, body }: { id: string; body: Parameters<typeof updateUser>[1] }) => updateUser(id, body),
    onSuccess: (user: UserDetail) => {
      queryClient.setQueryData<UserDetail[]>(keys.users, (old) => old?.map((u) => (u.id === user.id ? user : u)));
    },
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Text c="dimmed" size="sm">
          Everyone who can sign in to this company’s inbox.
        </Text>
        {admin && (
          <Button leftSection={<IconPlus size={16} />} onClick={() => setInviting(true)}>
            Invite
          </Button>
        )}
      </Group>
      <Paper withBorder radius="md">
        <Table.ScrollContainer minWidth={640}>
          <Table verticalSpacing="sm" aria-label="Team">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Role</Table.Th>
                <Table.Th>Availability</Table.Th>
                <Table.Th>Last sign-in</Table.Th>
                <Table.Th>Active</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {users.isLoading && (
                <Table.Tr>
                  <Table.Td colSpan={5}>
                    <Skeleton height={20} />
                  </Table.Td>
                </Table.Tr>
              )}
              {(users.data ?? []).map((u) => (
                <Table.Tr key={u.id} opacity={u.isActive ? 1 : 0.55}>
                  <Table.Td>
                    <Text size="sm" fw={600}>
                      {u.name} {u.id === meId && <Badge size="xs" variant="light">you</Badge>}
                    </Text>
                    <Text size="xs" c="dimmed">
                      {u.email}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    {admin && u.id !== meId ? (
                      <Select
                        size="xs"
                        w={120}
                        aria-label={`Role of ${u.name}`}
                        data={[
                          { value: "agent", label: "Agent" },
                          { value: "admin", label: "Admin" },
                        ]}
                        value={u.role}
                        onChange={(role) => role && change.mutate({ id: u.id, body: { role: role as "admin" | "agent" } })}
                        allowDeselect={false}
                      />
                    ) : (
                      <Badge variant="light">{u.role}</Badge>
                    )}
                  </Table.Td>
                  <Table.Td>
                    {u.id === meId ? (
                      <Select
                        size="xs"
                        w={120}
                        aria-label="My availability"
                        data={[
                          { value: "online", label: "Online" },
                          { value: "away", label: "Away" },
                        ]}
                        value={u.availability}
                        onChange={(availability) =>
                          availability && change.mutate({ id: u.id, body: { availability: availability as "online" | "away" } })
                        }
                        allowDeselect={false}
                      />
                    ) : (
                      <Badge variant="dot" color={u.availability === "online" ? "teal" : "gray"}>
                        {u.availability}
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" c="dimmed">
                      {u.lastLoginAt ? relative(u.lastLoginAt) : "never"}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Switch
                      aria-label={`${u.name} can sign in`}
                      checked={u.isActive}
                      disabled={!admin || u.id === meId}
                      onChange={(e) => change.mutate({ id: u.id, body: { isActive: e.currentTarget.checked } })}
                    />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Paper>
      <InviteModal opened={inviting} onClose={() => setInviting(false)} />
    </Stack>
  );
}

function NotificationsTab() {
  const prefs = useAlertPreferences();
  const permission = typeof Notification === "undefined" ? "unsupported" : Notification.permission;
  return (
    <Paper withBorder radius="md" p="lg">
      <Stack>
        <Text c="dimmed" size="sm">
          How this browser tells you about new customer messages in conversations you are not looking at.
        </Text>
        <Switch label="Play a sound" checked={prefs.sound} onChange={(e) => prefs.setSound(e.currentTarget.checked)} />
        <Switch
          label="Desktop notifications"
          description={permission === "denied" ? "Blocked in this browser’s site settings." : permission === "unsupported" ? "Not supported by this browser." : undefined}
          checked={prefs.desktop && permission === "granted"}
          disabled={permission === "denied" || permission === "unsupported"}
          onChange={async (e) => {
            const on = e.currentTarget.checked;
            if (on && Notification.permission !== "granted") {
              const answer = await Notification.requestPermission();
              prefs.setDesktop(answer === "granted");
            } else prefs.setDesktop(on);
          }}
        />
      </Stack>
    </Paper>
  );
}

function CompanyTab({ admin }: { admin: boolean }) {
  const { tenant, refreshProfile } = useAuth();
  const [name, setName] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: updateTenant,
    onSuccess: () => {
      setName(null);
      void refreshProfile();
      notifications.show({ color: "teal", message: "Company settings saved." });
    },
  });
  if (!tenant) return <Skeleton height={80} />;
  const settings = tenant.settings as { reopen_resolved_conversations?: boolean; auto_assign?: boolean; reopenResolvedConversations?: boolean; autoAssign?: boolean };
  const reopen = settings.reopenResolvedConversations ?? settings.reopen_resolved_conversations ?? true;
  const autoAssign = settings.autoAssign ?? settings.auto_assign ?? false;
  return (
    <Paper withBorder radius="md" p="lg">
      <Stack gap="md">
        <Group align="flex-end">
          <TextInput
            label="Company name"
            value={name ?? tenant.name}
            onChange={(e) => setName(e.currentTarget.value)}
            disabled={!admin}
            w={320}
          />
          {admin && (
            <Button onClick={() => save.mutate({ name: name ?? tenant.name })} disabled={name === null || !name.trim()} loading={save.isPending}>
              Save
            </Button>
          )}
        </Group>
        <Group gap="xs">
          <Badge variant="light">{tenant.plan}</Badge>
          <Badge color={tenant.status === "active" ? "teal" : "red"}>{tenant.status}</Badge>
        </Group>
        <Switch
          label="A customer's message reopens a resolved conversation"
          checked={reopen}
          disabled={!admin || save.isPending}
          onChange={(e) => save.mutate({ reopenResolvedConversations: e.currentTarget.checked })}
        />
        <Switch
          label="Assign new conversations automatically to available agents (round robin)"
          checked={autoAssign}
          disabled={!admin || save.isPending}
          onChange={(e) => save.mutate({ autoAssign: e.currentTarget.checked })}
        />
        <Text size="sm">
          Company id (slug): <Text span ff="monospace">{tenant.slug}</Text>
        </Text>
        <Text size="sm" c="dimmed">
          Webhook for a company’s own Meta app: <Text span ff="monospace">{`${window.location.origin}/api/webhook/${tenant.slug}`}</Text>
        </Text>
      </Stack>
    </Paper>
  );
}

export function SettingsPage() {
  const { isAdmin, user } = useAuth();
  const search = useSearch({ from: "/app/settings" });
  const navigate = useNavigate();
  const tab = search.tab ?? (isAdmin ? "numbers" : "notifications");
  return (
    <Page title="Settings" description={isAdmin ? "Numbers, people, API keys, webhooks and preferences." : "Your preferences. Administrators manage numbers and people."}>
      {!isAdmin && (
        <Alert variant="light" color="gray">
          You are an agent: you can see the numbers and the team; only administrators can change them.
        </Alert>
      )}
      <Tabs value={tab} onChange={(t) => void navigate({ to: "/settings", search: { tab: t ?? undefined } })} keepMounted={false}>
        <Tabs.List mb="md">
          <Tabs.Tab value="numbers" leftSection={<IconPhone size={16} />}>
            Phone numbers
          </Tabs.Tab>
          <Tabs.Tab value="agents" leftSection={<IconUsers size={16} />}>
            Team
          </Tabs.Tab>
          <Tabs.Tab value="company" leftSection={<IconBuilding size={16} />}>
            Company
          </Tabs.Tab>
          <Tabs.Tab value="notifications" leftSection={<IconBell size={16} />}>
            Notifications
          </Tabs.Tab>
          <Tabs.Tab value="canned" leftSection={<IconMessageBolt size={16} />}>
            Canned responses
          </Tabs.Tab>
          <Tabs.Tab value="labels" leftSection={<IconTag size={16} />}>
            Labels
          </Tabs.Tab>
          {isAdmin && (
            <Tabs.Tab value="api-keys" leftSection={<IconKey size={16} />}>
              API keys
            </Tabs.Tab>
          )}
          {isAdmin && (
            <Tabs.Tab value="webhooks" leftSection={<IconWebhook size={16} />}>
              Webhooks
            </Tabs.Tab>
          )}
        </Tabs.List>
        <Tabs.Panel value="numbers">
          <NumbersTab admin={isAdmin} />
        </Tabs.Panel>
        <Tabs.Panel value="agents">
          <AgentsTab admin={isAdmin} meId={user?.id} />
        </Tabs.Panel>
        <Tabs.Panel value="company">
          <CompanyTab admin={isAdmin} />
        </Tabs.Panel>
        <Tabs.Panel value="notifications">
          <NotificationsTab />
        </Tabs.Panel>
        <Tabs.Panel value="canned">
          <CannedResponsesTab admin={isAdmin} meId={user?.id} />
        </Tabs.Panel>
        <Tabs.Panel value="labels">
          <LabelsTab admin={isAdmin} />
        </Tabs.Panel>
        {isAdmin && (
          <Tabs.Panel value="api-keys">
            <ApiKeysTab />
          </Tabs.Panel>
        )}
        {isAdmin && (
          <Tabs.Panel value="webhooks">
            <WebhooksTab />
          </Tabs.Panel>
        )}
      </Tabs>
    </Page>
  );
}
