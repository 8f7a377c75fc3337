import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../api/http";
import type { PhoneNumberOut } from "../../api/resources";
import { renderUi } from "../../test/render";
import { TemplateBuilder } from "./TemplateBuilder";

const api = vi.hoisted(() => ({ listPhoneNumbers: vi.fn(), createTemplate: vi.fn() }));
vi.mock("../../api/resources", async (original) => ({
  ...(await original<typeof import("../../api/resources")>()),
  listPhoneNumbers: () => api.listPhoneNumbers(),
  createTemplate: (...args: unknown[]) => api.createTemplate(...args),
}));

function number(overrides: Partial<PhoneNumberOut> = {}): PhoneNumberOut {
  return {
    id: "n1",
    phoneNumberId: "1098765",
    wabaId: "waba-1",
    displayPhoneNumber: "+1 415 555 0100",
    name: "Support",
    verifiedName: null,
    status: "connected",
    qualityRating: "GREEN",
    messagingLimitTier: null,
    messagesPerSecond: 80,
    hasAppSecret: true,
    createdAt: "2026-11-01T08:00:00Z",
    ...overrides,
  };
}

const onCreated = vi.fn();

function setup() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  renderUi(
    <QueryClientProvider client={client}>
      <TemplateBuilder onCreated={onCreated} />
    </QueryClientProvider>,
  );
}

const body = () => screen.getByRole("textbox", { name: /Body text/ });
const preview = () => screen.getByTestId("template-preview");

async function fillBody(text: string) {
  await userEvent.click(body());
  await userEvent.paste(text);
}

describe("template builder", () => {
  beforeEach(() => {
    api.listPhoneNumbers.mockReset().mockResolvedValue([number()]);
    api.createTemplate.mockReset();
    onCreated.mockReset();
  });

  it("gives each placeholder of the body an example field", async () => {
    setup();
    expect(screen.queryByTestId("template-examples")).not.toBeInTheDocument();
    await fillBody("Hi {{1}}, your order {{2}} has shipped.");
    const examples = screen.getByTestId("template-examples");
    expect(within(examples).getByRole("textbox", { name: /Example for \{\{1\}\}/ })).toBeInTheDocument();
    expect(within(examples).getByRole("textbox", { name: /Example for \{\{2\}\}/ })).toBeInTheDocument();
    expect(within(examples).getAllByRole("textbox")).toHaveLength(2);
    // A placeholder used twice is one value; named placeholders get their own field.
    await userEvent.clear(body());
    await fillBody("Hello {{first_name}}, {{first_name}} again.");
    expect(within(screen.getByTestId("template-examples")).getAllByRole("textbox")).toHaveLength(1);
    expect(screen.getByRole("textbox", { name: /Example for \{\{first_name\}\}/ })).toBeInTheDocument();
  });

  it("shows the typed text in the live preview, with the example values", async () => {
    setup();
    await fillBody("Hi {{1}}, your order has shipped.");
    expect(preview()).toHaveTextContent("Hi {{1}}, your order has shipped.");
    await userEvent.type(screen.getByRole("textbox", { name: /Example for \{\{1\}\}/ }), "Ana");
    expect(preview()).toHaveTextContent("Hi Ana, your order has shipped.");
    await userEvent.type(screen.getByRole("textbox", { name: /Footer text/ }), "Reply STOP to opt out");
    expect(preview()).toHaveTextContent("Reply STOP to opt out");
  });

  it("refuses an invalid name as it is typed, and does not submit", async () => {
    setup();
    const name = screen.getByRole("textbox", { name: /^Name/ });
    await userEvent.type(name, "Order-Update");
    expect(name).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByText(/Use lowercase letters, digits and underscores only/)).toBeInTheDocument();
    await fillBody("Your order has shipped.");
    await userEvent.click(screen.getByRole("button", { name: "Submit for review" }));
    expect(api.createTemplate).not.toHaveBeenCalled();
    expect(screen.getByTestId("template-problems")).toHaveTextContent("Use lowercase letters");

    await userEvent.clear(name);
    await userEvent.type(name, "order_update");
    expect(name).not.toHaveAttribute("aria-invalid", "true");
  });

  it("checks Meta's limits before submitting", async () => {
    setup();
    await userEvent.type(screen.getByRole("textbox", { name: /^Name/ }), "promo");
    await fillBody("x".repeat(1030));
    expect(screen.getByText("1030 characters; the limit is 1024.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Submit for review" }));
    expect(api.createTemplate).not.toHaveBeenCalled();
  });

  it("submits Meta's components and shows the API's problems on their fields", async () => {
    api.createTemplate.mockRejectedValueOnce(
      new ApiError(422, "template_invalid", "components[0].text: Too promotional.", {
        problems: [{ path: "components[0].text", message: "This body reads like spam." }],
      }),
    );
    setup();
    await userEvent.type(screen.getByRole("textbox", { name: /^Name/ }), "order_update");
    await fillBody("Hi {{1}}, your order has shipped.");
    await userEvent.type(screen.getByRole("textbox", { name: /Example for \{\{1\}\}/ }), "Ana");
    await userEvent.click(screen.getByRole("button", { name: "Submit for review" }));

    await waitFor(() => expect(api.createTemplate).toHaveBeenCalled());
    expect(api.createTemplate.mock.calls[0]![0]).toEqual({
      phoneNumberId: "n1",
      name: "order_update",
      language: "en_US",
      category: "UTILITY",
      parameterFormat: "POSITIONAL",
      components: [{ type: "BODY", text: "Hi {{1}}, your order has shipped.", example: { body_text: [["Ana"]] } }],
    });
    expect(await screen.findByText("This body reads like spam.")).toBeInTheDocument();
    expect(body()).toHaveAttribute("aria-invalid", "true");
    expect(onCreated).not.toHaveBeenCalled();
  });
});
