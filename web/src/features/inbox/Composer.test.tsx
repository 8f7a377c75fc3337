import { fireEvent, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Template } from "../../api/resources";
import { message, renderUi } from "../../test/render";
import { Composer, type ComposerProps } from "./Composer";

function template(fields: Pick<Template, "id" | "name" | "category" | "status" | "components">): Template {
  return {
    language: "en_US",
    wabaId: "9876543210",
    metaTemplateId: null,
    parameterFormat: "POSITIONAL",
    parameters: { body: [], buttons: {}, headerMedia: null, headerText: [] },
    qualityScore: null,
    rejectedReason: null,
    createdAt: "2026-11-01T00:00:00Z",
    updatedAt: "2026-11-01T00:00:00Z",
    ...fields,
  };
}

const TEMPLATES: Template[] = [
  template({
    id: "t1",
    name: "hello_world",
    category: "UTILITY",
    status: "APPROVED",
    components: [
      { type: "HEADER", format: "TEXT", text: "Hello World" },
      { type: "BODY", text: "Welcome and congratulations!!" },
      { type: "FOOTER", text: "WhatsApp Business Platform sample message" },
    ],
  }),
  template({
    id: "t2",
    name: "order_update",
    category: "UTILITY",
    status: "APPROVED",
    components: [
      {
        type: "BODY",
        text: "Hi {{1}}, your order {{2}} is now {{3}}. Reply to this message if you have any questions.",
        example: { body_text: [["Maria", "#4521", "out for delivery"]] },
      },
      { type: "FOOTER", text: "Demo Company" },
    ],
  }),
  template({
    id: "t3",
    name: "appointment_reminder",
    category: "UTILITY",
    status: "APPROVED",
    components: [
      { type: "HEADER", format: "TEXT", text: "Appointment on {{1}}" },
      { type: "BODY", text: "Hello {{1}}, see you with {{2}}." },
      { type: "BUTTONS", buttons: [{ type: "QUICK_REPLY", text: "YES" }] },
    ],
  }),
  template({ id: "t4", name: "summer_sale", category: "MARKETING", status: "PENDING", components: [{ type: "BODY", text: "Sale!" }] }),
];

function setup(overrides: Partial<ComposerProps> = {}) {
  const props: ComposerProps = {
    windowOpen: true,
    windowExpiresAt: new Date(Date.now() + 5 * 3600 * 1000).toISOString(),
    templates: TEMPLATES,
    onSendText: vi.fn(),
    onSendTemplate: vi.fn(),
    onSendMedia: vi.fn(),
    ...overrides,
  };
  renderUi(<Composer {...props} />);
  return props;
}

async function chooseTemplate(label: RegExp) {
  await userEvent.click(screen.getByLabelText("Template", { selector: "input" }));
  await userEvent.click(await screen.findByRole("option", { name: label }));
}

describe("window-aware composer", () => {
  it("inside the window: Enter sends the text and clears the box", async () => {
    const props = setup();
    const box = screen.getByRole("textbox", { name: "Message" });
    await userEvent.type(box, "Your parcel arrives tomorrow 🚚{Enter}");
    expect(props.onSendText).toHaveBeenCalledWith("Your parcel arrives tomorrow 🚚");
    expect(box).toHaveValue("");
    expect(screen.queryByTestId("window-closed-banner")).not.toBeInTheDocument();
  });

  it("Shift+Enter adds a new line instead of sending", async () => {
    const props = setup();
    const box = screen.getByRole("textbox", { name: "Message" });
    await userEvent.type(box, "Line one{Shift>}{Enter}{/Shift}Line two");
    expect(props.onSendText).not.toHaveBeenCalled();
    expect(box).toHaveValue("Line one\nLine two");
    await userEvent.click(screen.getByRole("button", { name: "Send" }));
    expect(props.onSendText).toHaveBeenCalledWith("Line one\nLine two");
  });

  it("never sends while an input method is still composing (emoji and CJK keyboards)", () => {
    const props = setup();
    const box = screen.getByRole("textbox", { name: "Message" });
    fireEvent.change(box, { target: { value: "にほん" } });
    fireEvent.keyDown(box, { key: "Enter", isComposing: true });
    expect(props.onSendText).not.toHaveBeenCalled();
  });

  it("does not send blank messages", async () => {
    const props = setup();
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "   {Enter}");
    expect(props.onSendText).not.toHaveBeenCalled();
    expect(screen.getByRole("button", { name: "Send" })).toBeDisabled();
  });

  it("inserts emoji at the cursor", async () => {
    setup();
    const box = screen.getByRole("textbox", { name: "Message" });
    await userEvent.type(box, "Thanks");
    await userEvent.click(screen.getByRole("button", { name: "Insert emoji" }));
    await userEvent.click(await screen.findByRole("button", { name: "Insert 🙏" }));
    expect(box).toHaveValue("Thanks🙏");
  });

  it("shows what is being replied to, and Escape cancels the reply", async () => {
    const onCancelReply = vi.fn();
    setup({ replyTo: message({ type: "text", content: { body: "Where is my order?" } }), onCancelReply });
    expect(screen.getByTestId("reply-chip")).toHaveTextContent("Where is my order?");
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "{Escape}");
    expect(onCancelReply).toHaveBeenCalled();
  });

  it("attaches a file by its link", async () => {
    const props = setup();
    await userEvent.click(screen.getByRole("button", { name: "Attach a file" }));
    await userEvent.type(await screen.findByRole("textbox", { name: "File link (public https URL)" }), "https://cdn.example.com/label.png");
    await userEvent.type(screen.getByRole("textbox", { name: "Caption" }), "Your label");
    await userEvent.click(screen.getByRole("button", { name: "Send image" }));
    expect(props.onSendMedia).toHaveBeenCalledWith("image", "https://cdn.example.com/label.png", "Your label");
  });

  it("outside the window: a banner and the template picker instead of free text", () => {
    setup({ windowOpen: false, windowExpiresAt: new Date(Date.now() - 3600 * 1000).toISOString() });
    expect(screen.getByTestId("window-closed-banner")).toHaveTextContent("The 24-hour customer window is closed");
    expect(screen.queryByRole("textbox", { name: "Message" })).not.toBeInTheDocument();
    expect(screen.getByTestId("template-picker")).toBeInTheDocument();
  });

  it("offers only approved templates", async () => {
    setup({ windowOpen: false });
    await userEvent.click(screen.getByLabelText("Template", { selector: "input" }));
    expect(await screen.findByRole("option", { name: /order_update/ })).toBeInTheDocument();
    expect(screen.queryByRole("option", { name: /summer_sale/ })).not.toBeInTheDocument();
  });

  it("asks for each parameter, previews live, and sends the template's components", async () => {
    const props = setup({ windowOpen: false });
    await chooseTemplate(/order_update/);
    const preview = screen.getByTestId("template-preview");
    expect(preview).toHaveTextContent("Hi {{1}}, your order {{2}} is now {{3}}.");
    const send = screen.getByRole("button", { name: "Send template" });
    expect(send).toBeDisabled();
    await userEvent.type(screen.getByRole("textbox", { name: "Body {{1}}" }), "Lucas");
    expect(preview).toHaveTextContent("Hi Lucas, your order {{2}} is now {{3}}.");
    await userEvent.type(screen.getByRole("textbox", { name: "Body {{2}}" }), "#7781");
    await userEvent.type(screen.getByRole("textbox", { name: "Body {{3}}" }), "ready for pickup");
    expect(preview).toHaveTextContent("Hi Lucas, your order #7781 is now ready for pickup.");
    expect(send).toBeEnabled();
    await userEvent.click(send);
    expect(props.onSendTemplate).toHaveBeenCalledWith(
      {
        name: "order_update",
        language: "en_US",
        components: [
          {
            type: "body",
            parameters: [
              { type: "text", text: "Lucas" },
              { type: "text", text: "#7781" },
              { type: "text", text: "ready for pickup" },
            ],
          },
        ],
      },
      "Hi Lucas, your order #7781 is now ready for pickup. Reply to this message if you have any questions.\nDemo Company",
    );
  });

  it("sends header parameters as a header component", async () => {
    const props = setup({ windowOpen: false });
    await chooseTemplate(/appointment_reminder/);
    await userEvent.type(screen.getByRole("textbox", { name: "Header {{1}}" }), "Friday");
    await userEvent.type(screen.getByRole("textbox", { name: "Body {{1}}" }), "James");
    await userEvent.type(screen.getByRole("textbox", { name: "Body {{2}}" }), "Dr. Patel");
    expect(screen.getByTestId("template-preview")).toHaveTextContent("Appointment on Friday");
    await userEvent.click(screen.getByRole("button", { name: "Send template" }));
    const [sent] = (props.onSendTemplate as ReturnType<typeof vi.fn>).mock.calls[0] ?? [];
    expect(sent.components).toEqual([
      { type: "header", parameters: [{ type: "text", text: "Friday" }] },
      { type: "body", parameters: [{ type: "text", text: "James" }, { type: "text", text: "Dr. Patel" }] },
    ]);
  });

  it("sends a template without parameters straight away", async () => {
    const props = setup({ windowOpen: false });
    await chooseTemplate(/hello_world/);
    await userEvent.click(screen.getByRole("button", { name: "Send template" }));
    expect(props.onSendTemplate).toHaveBeenCalledWith(
      { name: "hello_world", language: "en_US", components: [] },
      "Hello World\nWelcome and congratulations!!\nWhatsApp Business Platform sample message",
    );
  });

  it("inside the window, templates are one click away too", async () => {
    setup();
    await userEvent.click(screen.getByRole("button", { name: "Send a template" }));
    expect(screen.getByTestId("template-picker")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Back to text" }));
    expect(screen.getByRole("textbox", { name: "Message" })).toBeInTheDocument();
  });

  it("says why templates cannot be listed", () => {
    setup({ windowOpen: false, templates: undefined, templatesUnavailable: "Templates could not be loaded: boom" });
    expect(screen.getByText("Templates could not be loaded: boom")).toBeInTheDocument();
  });

  it("says why nothing can be sent to an opted-out contact", () => {
    setup({ blockedReason: "This contact opted out of messages; nothing can be sent to them." });
    expect(screen.getByRole("status")).toHaveTextContent("opted out");
    expect(screen.queryByRole("textbox", { name: "Message" })).not.toBeInTheDocument();
  });
});
