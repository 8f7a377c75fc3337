import { createRootRouteWithContext, createRoute, createRouter, lazyRouteComponent, redirect, Outlet } from "@tanstack/react-router";
import type { QueryClient } from "@tanstack/react-query";
import type { Auth } from "./auth/AuthProvider";
import { AppLayout } from "./components/AppLayout";
import { NotFound } from "./components/NotFound";
import { ContactsPage } from "./pages/ContactsPage";
import { InboxPage, type InboxSearch } from "./pages/InboxPage";
import { LoginPage } from "./pages/LoginPage";
import { NewMessagePage } from "./pages/NewMessagePage";
import { RegisterPage } from "./pages/RegisterPage";
import { SettingsPage } from "./pages/SettingsPage";
import { TemplatesPage } from "./pages/TemplatesPage";

export type RouterContext = { auth: Auth; queryClient: QueryClient };

const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: Outlet,
  notFoundComponent: NotFound,
});

function safeRedirect(value: unknown): string | undefined {
  // Only paths of this app: never an absolute URL someone put in a link.
  return typeof value === "string" && value.startsWith("/") && !value.startsWith("//") ? value : undefined;
}

const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/login",
  validateSearch: (search: Record<string, unknown>): { redirect?: string } => ({ redirect: safeRedirect(search.redirect) }),
  beforeLoad: ({ context, search }) => {
    if (context.auth.status === "authenticated") throw redirect({ to: search.redirect ?? "/inbox" });
  },
  component: LoginPage,
});

const registerRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/register",
  beforeLoad: ({ context }) => {
    if (context.auth.status === "authenticated") throw redirect({ to: "/inbox" });
  },
  component: RegisterPage,
});

const appRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "app",
  beforeLoad: ({ context, location }) => {
    if (context.auth.status !== "authenticated") {
      throw redirect({ to: "/login", search: { redirect: location.href === "/" ? undefined : location.href } });
    }
  },
  component: AppLayout,
});

const indexRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/",
  beforeLoad: () => {
    throw redirect({ to: "/inbox" });
  },
});

const VIEWS = ["mine", "unassigned", "all"] as const;
const STATUSES = ["open", "pending", "resolved", "archived"] as const;

function validateInboxSearch(search: Record<string, unknown>): InboxSearch {
  const view = VIEWS.find((v) => v === search.view);
  const status = STATUSES.find((s) => s === search.status);
  return {
    view: view ?? undefined,
    status: status ?? undefined,
    q: typeof search.q === "string" && search.q ? search.q : undefined,
    // As the API keeps labels: lower case, single spaces.
    label:
      typeof search.label === "string" && search.label.trim()
        ? search.label.trim().split(/\s+/).join(" ").toLowerCase().slice(0, 64)
        : undefined,
  };
}

const inboxRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/inbox",
  validateSearch: validateInboxSearch,
  component: InboxPage,
});

const conversationRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/inbox/$conversationId",
  validateSearch: validateInboxSearch,
  component: InboxPage,
});

const newMessageRoute = createRoute({ getParentRoute: () => appRoute, path: "/new", component: NewMessagePage });
const contactsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/contacts",
  validateSearch: (search: Record<string, unknown>): { q?: string; id?: string } => ({
    q: typeof search.q === "string" && search.q ? search.q : undefined,
    id: typeof search.id === "string" && search.id ? search.id : undefined,
  }),
  component: ContactsPage,
});
const templatesRoute = createRoute({ getParentRoute: () => appRoute, path: "/templates", component: TemplatesPage });
// Charts are the heaviest dependency: loaded when the page is first opened.
const analyticsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/analytics",
  component: lazyRouteComponent(() => import("./pages/AnalyticsPage"), "AnalyticsPage"),
});
const settingsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/settings",
  validateSearch: (search: Record<string, unknown>): { tab?: string } => ({
    tab: typeof search.tab === "string" ? search.tab : undefined,
  }),
  component: SettingsPage,
});

// Administrators only (the API answers 403 to others); loaded when first opened, so agents never download them.
const adminOnly = ({ context }: { context: RouterContext }) => {
  if (!context.auth.isAdmin) throw redirect({ to: "/inbox" });
};
const CAMPAIGN_STATUSES = ["draft", "scheduled", "running", "paused", "completed", "cancelled"] as const;
const campaignsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/campaigns",
  beforeLoad: adminOnly,
  validateSearch: (search: Record<string, unknown>): { status?: (typeof CAMPAIGN_STATUSES)[number] } => ({
    status: CAMPAIGN_STATUSES.find((s) => s === search.status),
  }),
  component: lazyRouteComponent(() => import("./pages/CampaignsPage"), "CampaignsPage"),
});
const newCampaignRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/campaigns/new",
  beforeLoad: adminOnly,
  component: lazyRouteComponent(() => import("./pages/CampaignNewPage"), "CampaignNewPage"),
});
const campaignRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/campaigns/$campaignId",
  beforeLoad: adminOnly,
  component: lazyRouteComponent(() => import("./pages/CampaignDetailPage"), "CampaignDetailPage"),
});
const newTemplateRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/templates/new",
  beforeLoad: adminOnly,
  component: lazyRouteComponent(() => import("./pages/TemplateNewPage"), "TemplateNewPage"),
});
const auditRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/audit",
  beforeLoad: adminOnly,
  component: lazyRouteComponent(() => import("./pages/AuditPage"), "AuditPage"),
});

const routeTree = rootRoute.addChildren([
  loginRoute,
  registerRoute,
  appRoute.addChildren([
    indexRoute,
    inboxRoute,
    conversationRoute,
    newMessageRoute,
    contactsRoute,
    templatesRoute,
    newTemplateRoute,
    analyticsRoute,
    settingsRoute,
    campaignsRoute,
    newCampaignRoute,
    campaignRoute,
    auditRoute,
  ]),
]);

export function createAppRouter(context: RouterContext) {
  return createRouter({ routeTree, context, defaultPreload: false, scrollRestoration: false });
}

declare module "@tanstack/react-router" {
  interface Register {
    router: ReturnType<typeof createAppRouter>;
  }
}
