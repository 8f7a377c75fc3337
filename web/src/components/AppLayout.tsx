import {
  ActionIcon,
  AppShell,
  Avatar,
  Badge,
  Burger,
  Group,
  Indicator,
  Menu,
  NavLink,
  Text,
  Tooltip,
  UnstyledButton,
  useComputedColorScheme,
  useMantineColorScheme,
} from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import {
  IconAddressBook,
  IconChartBar,
  IconFileSearch,
  IconInbox,
  IconLogout,
  IconMessagePlus,
  IconMoon,
  IconSettings,
  IconSpeakerphone,
  IconSun,
  IconTemplate,
} from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, Outlet, useNavigate, useRouterState } from "@tanstack/react-router";
import { useEffect, useRef, useState } from "react";
import { keys } from "../api/cache";
import { startRealtime, type ConnectionState } from "../api/realtime";
import { conversationStats, type MessageOut } from "../api/resources";
import { useAuth } from "../auth/AuthProvider";
import { messageSummary } from "../features/inbox/messageModel";
import { initials } from "../lib/format";
import { chime, useAlertPreferences } from "../lib/preferences";

const NAV = [
  { to: "/inbox", label: "Inbox", icon: IconInbox },
  { to: "/new", label: "New message", icon: IconMessagePlus },
  { to: "/contacts", label: "Contacts", icon: IconAddressBook },
  { to: "/templates", label: "Templates", icon: IconTemplate },
  { to: "/analytics", label: "Analytics", icon: IconChartBar },
  { to: "/settings", label: "Settings", icon: IconSettings },
] as const;

/** Pages only administrators can use (the API answers 403 to agents). */
const ADMIN_NAV = [
  { to: "/campaigns", label: "Campaigns", icon: IconSpeakerphone },
  { to: "/audit", label: "Audit log", icon: IconFileSearch },
] as const;

function ColorSchemeToggle() {
  const { setColorScheme } = useMantineColorScheme();
  const computed = useComputedColorScheme("light");
  const dark = computed === "dark";
  return (
    <Tooltip label={dark ? "Light mode" : "Dark mode"}>
      <ActionIcon
        variant="default"
        size="lg"
        onClick={() => setColorScheme(dark ? "light" : "dark")}
        aria-label={dark ? "Switch to light mode" : "Switch to dark mode"}
      >
        {dark ? <IconSun size={18} /> : <IconMoon size={18} />}
      </ActionIcon>
    </Tooltip>
  );
}

const CONNECTION_LABEL: Record<ConnectionState, string> = {
  live: "Live: updates arrive instantly",
  connecting: "Connecting to live updates…",
  offline: "Offline: reconnecting…",
};

export function AppLayout() {
  const auth = useAuth();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  const [opened, { toggle, close }] = useDisclosure();
  const [connection, setConnection] = useState<ConnectionState>("connecting");
  const preferences = useAlertPreferences();
  const prefsRef = useRef(preferences);
  prefsRef.current = preferences;
  const pathRef = useRef(pathname);
  pathRef.current = pathname;

  const stats = useQuery({ queryKey: keys.stats, queryFn: conversationStats, refetchInterval: 60_000 });
  const unread = stats.data?.unread ?? 0;

  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) wadesk` : "wadesk";
  }, [unread]);

  useEffect(() => {
    const onMessage = (message: MessageOut) => {
      if (message.direction !== "inbound" || message.type === "reaction") return;
      const viewing = pathRef.current === `/inbox/${message.conversationId}` && document.visibilityState === "visible";
      if (viewing) return;
      if (prefsRef.current.sound) chime();
      if (prefsRef.current.desktop && typeof Notification !== "undefined" && Notification.permission === "granted") {
        const note = new Notification("New WhatsApp message", { body: messageSummary(message), tag: message.conversationId });
        note.onclick = () => {
          window.focus();
          void navigate({ to: "/inbox/$conversationId", params: { conversationId: message.conversationId } });
        };
      }
    };
    return startRealtime(queryClient, { onState: setConnection, onMessage });
  }, [queryClient, navigate]);

  const user = auth.user;
  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding={0}
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <UnstyledButton component={Link} to="/inbox" aria-label="wadesk inbox">
              <Group gap={8} wrap="nowrap">
                <img src="/favicon.svg" alt="" width={28} height={28} />
                <Text fw={700} size="lg">
                  wadesk
                </Text>
              </Group>
            </UnstyledButton>
            {auth.tenant && (
              <Text size="sm" c="dimmed" visibleFrom="sm" truncate="end" maw={220}>
                {auth.tenant.name}
              </Text>
            )}
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Tooltip label={CONNECTION_LABEL[connection]}>
              <Badge
                variant="dot"
                color={connection === "live" ? "teal" : connection === "connecting" ? "yellow" : "red"}
                aria-live="polite"
                data-testid="connection-state"
                data-state={connection}
              >
                {connection === "live" ? "Live" : connection === "connecting" ? "Connecting" : "Offline"}
              </Badge>
            </Tooltip>
            <ColorSchemeToggle />
            <Menu position="bottom-end" withArrow>
              <Menu.Target>
                <UnstyledButton aria-label="Account menu">
                  <Avatar color="teal" radius="xl" size={34}>
                    {initials(user?.name ?? "?")}
                  </Avatar>
                </UnstyledButton>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Label>
                  {user?.name}
                  <br />
                  <Text span size="xs" c="dimmed">
                    {user?.email} · {user?.role}
                  </Text>
                </Menu.Label>
                <Menu.Divider />
                <Menu.Item
                  leftSection={<IconLogout size={16} />}
                  onClick={() => {
                    void auth.logout().then(() => navigate({ to: "/login" }));
                  }}
                >
                  Sign out
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        {[...NAV.slice(0, -1), ...(auth.isAdmin ? ADMIN_NAV : []), ...NAV.slice(-1)].map((item) => {
          const active = pathname === item.to || pathname.startsWith(`${item.to}/`);
          const Icon = item.icon;
          return (
            <NavLink
              key={item.to}
              component={Link}
              to={item.to}
              label={item.label}
              active={active}
              onClick={close}
              leftSection={
                item.to === "/inbox" && unread > 0 ? (
                  <Indicator label={unread > 99 ? "99+" : unread} size={16} color="red" offset={2}>
                    <Icon size={20} stroke={1.6} />
                  </Indicator>
                ) : (
                  <Icon size={20} stroke={1.6} />
                )
              }
              style={{ borderRadius: "var(--mantine-radius-md)" }}
            />
          );
        })}
      </AppShell.Navbar>
      <AppShell.Main className="app-main">
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
