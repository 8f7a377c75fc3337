import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../api/http";
import type { ApiKeyCreated, ApiKeyOut } from "../../api/resources";
import { renderUi } from "../../test/render";
import { ApiKeysTab } from "./ApiKeysTab";

const api = vi.hoisted(() => ({ listApiKeys: vi.fn(), createApiKey: vi.fn(), revokeApiKey: vi.fn() }));
vi.mock("../../api/resources", async (original) => ({
  ...(await original<typeof import("../../api/resources")>()),
  listApiKeys: () => api.listApiKeys(),
  createApiKey: (...args: unknown[]) => api.createApiKey(...args),
  revokeApiKey: (...args: unknown[]) => api.revokeApiKey(...args),
}));

const SECRET = "wdk_live_3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c1e";

function key(overrides: Partial<ApiKeyOut> = {}): ApiKeyOut {
  return {
    id: "k1",
    name: "Nightly export",
    prefix: "wdk_9b1e",
    scopes: ["read"],
    createdById: "u1",
    createdAt: "2026-11-01T08:00:00Z",
    lastUsedAt: null,
    revokedAt: null,
    ...overrides,
  };
}

function setup() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  renderUi(
    <QueryClientProvider client={client}>
      <ApiKeysTab />
    </QueryClientProvider>,
  );
}

describe("API keys: the key is shown once", () => {
  let writeText: ReturnType<typeof vi.fn>;

  beforeEach(() => {
    api.listApiKeys.mockReset().mockResolvedValue([key()]);
    api.createApiKey.mockReset();
    api.revokeApiKey.mockReset();
    writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
  });
  afterEach(() => vi.restoreAllMocks());

  it("lists keys with their scopes, last use and status", async () => {
    api.listApiKeys.mockResolvedValue([key(), key({ id: "k2", name: "Old CRM", scopes: ["read", "send"], lastUsedAt: new Date().toISOString(), revokedAt: "2026-11-10T00:00:00Z" })]);
    setup();
    const rows = await screen.findAllByTestId("api-key-row");
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getByText("wdk_9b1e…")).toBeInTheDocument();
    expect(within(rows[0]!).getByText("never")).toBeInTheDocument();
    expect(within(rows[0]!).getByText("active")).toBeInTheDocument();
    expect(within(rows[1]!).getByText("send")).toBeInTheDocument();
    expect(within(rows[1]!).getByText("revoked")).toBeInTheDocument();
    expect(within(rows[1]!).queryByRole("button", { name: /Revoke/ })).not.toBeInTheDocument();
  });

  it("creates a key with a name and scopes, shows it once with a copy button, then never again", async () => {
    const created: ApiKeyCreated = { ...key({ id: "k9", name: "CRM sync", prefix: "wdk_live", scopes: ["read", "send"] }), key: SECRET };
    api.createApiKey.mockResolvedValue(created);
    setup();
    await screen.findAllByTestId("api-key-row");
    await userEvent.click(screen.getByRole("button", { name: "Create API key" }));
    const form = await screen.findByRole("dialog", { name: "Create an API key" });
    await userEvent.type(within(form).getByRole("textbox", { name: /Name/ }), "CRM sync");
    await userEvent.click(within(form).getByRole("checkbox", { name: /Send/ }));
    api.listApiKeys.mockResolvedValue([key(), created]);
    await userEvent.click(within(form).getByRole("button", { name: "Create key" }));

    expect(api.createApiKey).toHaveBeenCalledWith("CRM sync", ["read", "send"]);
    const shown = await screen.findByRole("dialog", { name: "Your new API key" });
    expect(within(shown).getByTestId("secret-value")).toHaveValue(SECRET);
    expect(within(shown).getByText(/You will not see it again/)).toBeInTheDocument();
    await userEvent.click(within(shown).getByRole("button", { name: "Copy api key" }));
    expect(writeText).toHaveBeenCalledWith(SECRET);

    await userEvent.click(within(shown).getByRole("button", { name: "I have stored it" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    // The list shows the new key by its prefix only: the secret is nowhere on the page any more.
    expect(await screen.findByText("CRM sync")).toBeInTheDocument();
    expect(document.body.innerHTML).not.toContain(SECRET);
  });

  it("shows the API's reason inline when the key is refused", async () => {
    api.createApiKey.mockRejectedValue(new ApiError(403, "api_key_not_allowed", "API keys are managed by signed-in administrators only."));
    setup();
    await screen.findAllByTestId("api-key-row");
    await userEvent.click(screen.getByRole("button", { name: "Create API key" }));
    const form = await screen.findByRole("dialog", { name: "Create an API key" });
    await userEvent.type(within(form).getByRole("textbox", { name: /Name/ }), "Script");
    await userEvent.click(within(form).getByRole("button", { name: "Create key" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("API keys are managed by signed-in administrators only.");
    expect(screen.queryByRole("dialog", { name: "Your new API key" })).not.toBeInTheDocument();
  });

  it("revokes a key after confirmation", async () => {
    vi.spyOn(window, "confirm").mockReturnValue(true);
    api.revokeApiKey.mockResolvedValue(null);
    setup();
    await screen.findAllByTestId("api-key-row");
    await userEvent.click(screen.getByRole("button", { name: "Revoke Nightly export" }));
    expect(window.confirm).toHaveBeenCalled();
    await waitFor(() => expect(api.revokeApiKey).toHaveBeenCalledWith("k1"));
  });
});
