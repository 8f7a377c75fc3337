import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactElement } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { applyCampaignStats, keys } from "../../api/cache";
import { ApiError } from "../../api/http";
import type { CampaignOut, CampaignStats } from "../../api/resources";
import { renderUi } from "../../test/render";
import { CampaignActions } from "./CampaignActions";
import { CampaignStatsPanel } from "./CampaignStatsPanel";

const navigate = vi.fn();
vi.mock("@tanstack/react-router", async (original) => ({
  ...(await original<typeof import("@tanstack/react-router")>()),
  useNavigate: () => navigate,
}));

const campaignAction = vi.fn();
vi.mock("../../api/resources", async (original) => ({
  ...(await original<typeof import("../../api/resources")>()),
  campaignAction: (...args: unknown[]) => campaignAction(...args),
}));

const ID = "5f0c7d2e-0000-4000-8000-000000000001";

function stats(overrides: Partial<CampaignStats> = {}): CampaignStats {
  return {
    campaignId: ID,
    status: "running",
    pausedReason: null,
    pausedCode: null,
    waitingReason: null,
    waitingUntil: null,
    counts: { total: 200, queued: 60, sending: 10, sent: 30, delivered: 40, read: 25, replied: 15, failed: 12, skipped: 8 },
    funnel: { targeted: 200, skipped: 8, attempted: 122, sent: 110, delivered: 80, read: 40, replied: 15, failed: 12 },
    rates: { delivery: 0.6557, read: 0.5, reply: 0.1875, failure: 0.0984 },
    throughput: { lastMinutePerSecond: 2.5, configuredPerSecond: 80 },
    eta: { remaining: 70, seconds: 28, at: "2026-11-20T10:15:28Z", limitedBy: null },
    failuresByCode: [
      { code: 131049, title: "Meta chose not to deliver", retryable: false, count: 9 },
      { code: 130429, title: "Rate limit hit", retryable: true, count: 3 },
    ],
    skippedByReason: [
      { reason: "opted_out", count: 5 },
      { reason: "blocked", count: 3 },
    ],
    startedAt: "2026-11-20T10:00:00Z",
    completedAt: null,
    generatedAt: "2026-11-20T10:15:00Z",
    ...overrides,
  };
}

function campaign(overrides: Partial<CampaignOut> = {}): CampaignOut {
  return {
    id: ID,
    name: "Spring sale",
    status: "running",
    phoneNumber: { id: "n1", phoneNumberId: "1234567890", displayPhoneNumber: "+1 555-000-0000", messagesPerSecond: 80, messagingLimitTier: "TIER_1K", qualityRating: "GREEN" },
    template: { id: "t1", name: "order_update", language: "en_US", category: "UTILITY", status: "APPROVED" },
    audience: { source: "contacts", tags: ["demo"] },
    parameterMapping: {},
    scheduledAt: null,
    timezone: null,
    startedAt: "2026-11-20T10:00:00Z",
    completedAt: null,
    cancelledAt: null,
    pausedReason: null,
    pausedCode: null,
    waitingReason: null,
    waitingUntil: null,
    replyWindowHours: 24,
    createdById: null,
    createdAt: "2026-11-20T09:00:00Z",
    updatedAt: "2026-11-20T10:00:00Z",
    counts: stats().counts,
    ...overrides,
  };
}

function withQueries(ui: ReactElement, client = new QueryClient({ defaultOptions: { queries: { retry: false } } })) {
  return { client, ...renderUi(<QueryClientProvider client={client}>{ui}</QueryClientProvider>) };
}

describe("campaign funnel and figures from a stats payload", () => {
  it("shows the count of every state, the cumulative funnel and the rates", () => {
    renderUi(<CampaignStatsPanel stats={stats()} />);
    const states = { queued: 60, sending: 10, sent: 30, delivered: 40, read: 25, replied: 15, failed: 12, skipped: 8 };
    for (const [state, count] of Object.entries(states)) expect(screen.getByTestId(`state-${state}`)).toHaveTextContent(String(count));
    const funnel = { targeted: 200, sent: 110, delivered: 80, read: 40, replied: 15, failed: 12, skipped: 8 };
    for (const [step, count] of Object.entries(funnel)) expect(screen.getByTestId(`funnel-${step}`)).toHaveTextContent(String(count));
    expect(screen.getByLabelText("Sent: 110 of 200")).toBeInTheDocument();
    expect(screen.getByTestId("rate-delivery")).toHaveTextContent("66%");
    expect(screen.getByTestId("rate-read")).toHaveTextContent("50%");
    expect(screen.getByTestId("rate-reply")).toHaveTextContent("19%");
    expect(screen.getByTestId("rate-failure")).toHaveTextContent("9.8%");
    expect(screen.getByTestId("campaign-progress")).toHaveTextContent("130 of 200 recipients done (65%)");
  });

  it("shows throughput against the number's limit, the time left and what failed or was skipped", () => {
    renderUi(<CampaignStatsPanel stats={stats()} />);
    expect(screen.getByTestId("throughput")).toHaveTextContent("2.5 msg/s");
    expect(screen.getByText("last minute · limit 80/s")).toBeInTheDocument();
    expect(screen.getByTestId("eta")).toHaveTextContent("in 28 s");
    expect(screen.getByTestId("remaining")).toHaveTextContent("70");
    const failures = screen.getByRole("table", { name: "Failures by reason" });
    expect(within(failures).getByText("Meta chose not to deliver")).toBeInTheDocument();
    expect(within(failures).getByText("code 130429")).toBeInTheDocument();
    expect(within(failures).getByText("retryable")).toBeInTheDocument();
    const skipped = screen.getByRole("table", { name: "Skipped by reason" });
    expect(within(skipped).getByText("Opted out")).toBeInTheDocument();
    expect(within(skipped).getByText("Blocked")).toBeInTheDocument();
  });

  it("says why a campaign was paused, by what kind of cause", () => {
    renderUi(<CampaignStatsPanel stats={stats({ status: "paused", pausedReason: "Meta paused template 'order_update'", pausedCode: "template_not_approved", eta: { remaining: 70, seconds: null, at: null, limitedBy: null } })} />);
    const alert = screen.getByTestId("paused-reason");
    expect(alert).toHaveTextContent("Paused: the template cannot be sent");
    expect(alert).toHaveTextContent("Meta paused template 'order_update'");
    expect(screen.getByTestId("eta")).toHaveTextContent("—");
  });

  it("says when a paused campaign's number dropped in quality", () => {
    renderUi(<CampaignStatsPanel stats={stats({ status: "paused", pausedReason: "The number's quality rating dropped from GREEN to YELLOW", pausedCode: "phone_number_quality_dropped" })} />);
    expect(screen.getByTestId("paused-reason")).toHaveTextContent("Paused: the number's quality rating dropped");
  });

  it("explains a running campaign held back by its messaging tier, and its later completion", () => {
    renderUi(
      <CampaignStatsPanel
        stats={stats({
          waitingReason: "Messaging limit reached (1,000 customers in 24 hours; 1,000 reached in the last 24 hours).",
          waitingUntil: "2099-01-01T09:00:00Z",
          eta: { remaining: 70, seconds: 3600, at: "2099-01-01T10:00:00Z", limitedBy: "messaging_limit" },
        })}
      />,
    );
    expect(screen.getByTestId("waiting-reason")).toHaveTextContent("Messaging limit reached");
    expect(screen.getByTestId("eta")).toHaveTextContent("in 1 h");
    expect(screen.getByText(/held by the messaging limit/)).toBeInTheDocument();
  });

  it("takes live stats into the cache, never going back to an older figure", () => {
    const client = new QueryClient();
    client.setQueryData(keys.campaign(ID), campaign({ status: "running" }));
    applyCampaignStats(client, stats({ status: "completed", completedAt: "2026-11-20T10:20:00Z", generatedAt: "2026-11-20T10:20:00Z" }));
    applyCampaignStats(client, stats({ generatedAt: "2026-11-20T10:19:00Z" }));
    expect(client.getQueryData<CampaignStats>(keys.campaignStats(ID))?.status).toBe("completed");
    expect(client.getQueryData<CampaignOut>(keys.campaign(ID))?.status).toBe("completed");
    expect(client.getQueryData<CampaignOut>(keys.campaign(ID))?.completedAt).toBe("2026-11-20T10:20:00Z");
  });
});

describe("campaign lifecycle buttons", () => {
  beforeEach(() => {
    campaignAction.mockReset();
    vi.spyOn(window, "confirm").mockReturnValue(true);
  });
  afterEach(() => vi.restoreAllMocks());

  const buttons = () =>
    within(screen.getByRole("group", { name: "Campaign actions" }))
      .getAllByRole("button")
      .map((b) => b.textContent);

  it("offers exactly what the API allows from each status", () => {
    const cases: [CampaignOut["status"], string[]][] = [
      ["draft", ["Start now", "Schedule", "Cancel campaign", "Delete draft"]],
      ["scheduled", ["Start now", "Reschedule", "Unschedule", "Cancel campaign"]],
      ["running", ["Pause", "Retry failed", "Cancel campaign"]],
      ["paused", ["Resume", "Retry failed", "Cancel campaign"]],
      ["completed", ["Retry failed"]],
    ];
    for (const [status, expected] of cases) {
      const { unmount } = withQueries(<CampaignActions campaign={campaign({ status })} stats={stats({ status })} />);
      expect(buttons()).toEqual(expected);
      unmount();
    }
    withQueries(<CampaignActions campaign={campaign({ status: "cancelled" })} />);
    expect(screen.queryByRole("button")).not.toBeInTheDocument();
    expect(screen.getByText(/cannot be restarted/)).toBeInTheDocument();
  });

  it("shows the API's reason inline when a transition is refused", async () => {
    campaignAction.mockRejectedValue(
      new ApiError(422, "template_not_approved", "Template 'order_update' is paused; only approved templates can be sent."),
    );
    withQueries(<CampaignActions campaign={campaign({ status: "paused" })} />);
    await userEvent.click(screen.getByRole("button", { name: "Resume" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Template 'order_update' is paused; only approved templates can be sent.");
    expect(campaignAction).toHaveBeenCalledWith(ID, "resume", undefined);
  });

  it("puts the campaign the API answers in the cache after an action", async () => {
    campaignAction.mockResolvedValue(campaign({ status: "paused", pausedReason: "Paused by Alex Admin", pausedCode: "paused_by_user" }));
    const { client } = withQueries(<CampaignActions campaign={campaign({ status: "running" })} />);
    await userEvent.click(screen.getByRole("button", { name: "Pause" }));
    await vi.waitFor(() => expect(client.getQueryData<CampaignOut>(keys.campaign(ID))?.status).toBe("paused"));
  });
});
