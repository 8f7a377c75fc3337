import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
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

const CANNED = [
  { id: "c1", shortCode: "thanks", title: "Thank you", body: "Thanks {{contact.first_name}}!", createdById: null, createdAt: "", updatedAt: "" },
  { id: "c2", shortCode: "tracking", title: "Tracking link", body: "Track it here: {{link}}", createdById: null, createdAt: "", updatedAt: "" },
  { id: "c3", shortCode: "hours", title: "Opening hours", body: "We answer 9:00-18:00.", createdById: null, createdAt: "", updatedAt: "" },
];
const TEAM = [
  { id: "u1", name: "Me Myself", email: "me@demo.com" },
  { id: "u2", name: "Ana Silva", email: "ana.silva@demo.com" },
  { id: "u3", name: "Ben Okafor", email: "ben@demo.com" },
];

describe("canned responses in the composer", () => {
  it("/code offers the matching responses and Enter expands the chosen one instead of sending", async () => {
    const onExpandCanned = vi.fn(async (code: string) => (code === "thanks" ? "Thanks Maria!" : "Track it here: https://t.example/1"));
    const props = setup({ cannedResponses: CANNED, onExpandCanned });
    const box = screen.getByRole("textbox", { name: "Message" });
    await userEvent.type(box, "Hi! /t");
    const list = screen.getByRole("listbox", { name: "Canned responses" });
    const options = within(list).getAllByRole("option");
    expect(options.map((o) => o.getAttribute("aria-label"))).toEqual(["/thanks, Thank you", "/tracking, Tracking link"]);
    expect(options[0]).toHaveAttribute("aria-selected", "true");
    expect(box).toHaveAttribute("aria-activedescendant", options[0]?.id);
    await userEvent.keyboard("{ArrowDown}");
    expect(options[1]).toHaveAttribute("aria-selected", "true");
    await userEvent.keyboard("{ArrowUp}{Enter}");
    expect(onExpandCanned).toHaveBeenCalledWith("thanks");
    await waitFor(() => expect(box).toHaveValue("Hi! Thanks Maria!"));
    expect(props.onSendText).not.toHaveBeenCalled();
    expect(screen.queryByRole("listbox")).not.toBeInTheDocument();
    await userEvent.type(box, "{Enter}");
    expect(props.onSendText).toHaveBeenCalledWith("Hi! Thanks Maria!");
  });

  it("Tab expands too, Escape closes the list without leaving, and codes mid-word are left alone", async () => {
    const onExpandCanned = vi.fn(async () => "We answer 9:00-18:00.");
    const onCancelReply = vi.fn();
    const props = setup({ cannedResponses: CANNED, onExpandCanned, onCancelReply, replyTo: message({ type: "text", content: { body: "When?" } }) });
    const box = screen.getByRole("textbox", { name: "Message" });
    await userEvent.type(box, "and/h");
    expect(screen.queryByRole("listbox")).not.toBeInTheDocument();
    await userEvent.clear(box);
    await userEvent.type(box, "/h");
    expect(screen.getByRole("option", { name: "/hours, Opening hours" })).toBeInTheDocument();
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("listbox")).not.toBeInTheDocument();
    expect(onCancelReply).not.toHaveBeenCalled();
    await userEvent.type(box, "o");
    await userEvent.keyboard("{Tab}");
    await waitFor(() => expect(box).toHaveValue("We answer 9:00-18:00."));
    expect(onExpandCanned).toHaveBeenCalledWith("hours");
    expect(props.onSendText).not.toHaveBeenCalled();
  });

  it("says why a response could not be expanded, with the API's message", async () => {
    const onExpandCanned = vi.fn(async () => {
      throw new Error("Conversation not found.");
    });
    setup({ cannedResponses: CANNED, onExpandCanned });
    const box = screen.getByRole("textbox", { name: "Message" });
    await userEvent.type(box, "/thanks{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent("/thanks could not be expanded: Conversation not found.");
    expect(box).toHaveValue("/thanks");
  });
});

describe("private notes in the composer", () => {
  it("note mode posts a note with its mentions, never a message", async () => {
    const onSendNote = vi.fn().mockResolvedValue(undefined);
    const props = setup({ onSendNote, teammates: TEAM, meId: "u1" });
    await userEvent.click(screen.getByRole("radio", { name: "Private note" }));
    expect(screen.queryByRole("textbox", { name: "Message" })).not.toBeInTheDocument();
    const note = screen.getByRole("textbox", { name: "Note" });
    await waitFor(() => expect(note).toHaveFocus());
    await userEvent.type(note, "Courier is late, @an");
    const option = within(screen.getByRole("listbox", { name: "Mention a teammate" })).getByRole("option");
    expect(option).toHaveAccessibleName("Ana Silva, @ana.silva");
    await userEvent.keyboard("{Enter}");
    expect(note).toHaveValue("Courier is late, @ana.silva ");
    // Typed straight after choosing: the caret is already after the mention.
    await userEvent.type(note, "can you call them?{Enter}");
    expect(onSendNote).toHaveBeenCalledWith("Courier is late, @ana.silva can you call them?", ["u2"]);
    expect(props.onSendText).not.toHaveBeenCalled();
    expect(props.onSendMedia).not.toHaveBeenCalled();
    await waitFor(() => expect(note).toHaveValue(""));
  });

  it("notes can be written when nothing can be sent to the customer, and a refused note keeps its text", async () => {
    const onSendNote = vi.fn().mockRejectedValue(new Error("Conversation not found."));
    setup({ onSendNote, windowOpen: false, blockedReason: "This contact opted out of messages; nothing can be sent to them." });
    expect(screen.getByRole("status")).toHaveTextContent("opted out");
    await userEvent.click(screen.getByRole("radio", { name: "Private note" }));
    const note = screen.getByRole("textbox", { name: "Note" });
    await userEvent.type(note, "She asked us to stop.");
    await userEvent.click(screen.getByRole("button", { name: "Add note" }));
    expect(onSendNote).toHaveBeenCalledWith("She asked us to stop.", []);
    expect(await screen.findByRole("alert")).toHaveTextContent("The note was not added: Conversation not found.");
    expect(note).toHaveValue("She asked us to stop.");
    await userEvent.click(screen.getByRole("radio", { name: "Reply" }));
    expect(screen.getByRole("status")).toHaveTextContent("opted out");
  });
});

describe("attachments by upload", () => {
  const UPLOAD = {
    id: "up-1",
    kind: "image" as const,
    mimeType: "image/png",
    filename: "label.png",
    size: 2048,
    sha256: "abc",
    attached: false,
    createdAt: "2026-11-20T10:15:00Z",
  };

  it("uploads the picked file, shows it, and sends it with the typed caption", async () => {
    let finish: (value: typeof UPLOAD) => void = () => undefined;
    const onUploadFile = vi.fn(
      (_file: File, options: { onProgress?: (f: number) => void }) =>
        new Promise<typeof UPLOAD>((resolve) => {
          options.onProgress?.(0.4);
          finish = resolve;
        }),
    );
    const onSendUpload = vi.fn();
    const props = setup({ onUploadFile, onSendUpload });
    const file = new File([new Uint8Array(2048)], "label.png", { type: "image/png" });
    await userEvent.click(screen.getByRole("button", { name: "Attach a file" }));
    await userEvent.upload(screen.getByLabelText("Choose a file to upload"), file);
    const chip = screen.getByTestId("attachment-chip");
    expect(chip).toHaveTextContent("label.png");
    expect(chip).toHaveTextContent("uploading 40%");
    expect(screen.getByRole("button", { name: "Send" })).toBeDisabled();
    await act(async () => finish(UPLOAD));
    expect(chip).toHaveTextContent("2.0 KB · image · ready to send");
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "Your label{Enter}");
    expect(onSendUpload).toHaveBeenCalledWith(UPLOAD, "Your label", file);
    expect(props.onSendText).not.toHaveBeenCalled();
    expect(screen.queryByTestId("attachment-chip")).not.toBeInTheDocument();
  });

  it("shows the API's refusal and discards a removed upload", async () => {
    const refusal = "The file's content is not an MP4 video (video/mp4), as its type says.";
    const onUploadFile = vi.fn().mockRejectedValueOnce(new Error(refusal)).mockResolvedValueOnce(UPLOAD);
    const onDiscardUpload = vi.fn();
    setup({ onUploadFile, onSendUpload: vi.fn(), onDiscardUpload });
    await userEvent.click(screen.getByRole("button", { name: "Attach a file" }));
    await userEvent.upload(screen.getByLabelText("Choose a file to upload"), new File(["not a video"], "clip.mp4", { type: "video/mp4" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(refusal);
    expect(screen.getByRole("button", { name: "Send" })).toBeDisabled();
    await userEvent.click(screen.getByRole("button", { name: "Remove attachment" }));
    await userEvent.click(screen.getByRole("button", { name: "Attach a file" }));
    await userEvent.upload(screen.getByLabelText("Choose a file to upload"), new File(["png"], "label.png", { type: "image/png" }));
    await screen.findByText(/ready to send/);
    await userEvent.click(screen.getByRole("button", { name: "Remove attachment" }));
    expect(onDiscardUpload).toHaveBeenCalledWith("up-1");
  });

  it("refuses a file over WhatsApp's limit before uploading it", async () => {
    const onUploadFile = vi.fn();
    setup({ onUploadFile, onSendUpload: vi.fn() });
    const big = new File([new Uint8Array(6 * 1024 * 1024)], "huge.jpg", { type: "image/jpeg" });
    await userEvent.click(screen.getByRole("button", { name: "Attach a file" }));
    await userEvent.upload(screen.getByLabelText("Choose a file to upload"), big);
    expect(await screen.findByRole("alert")).toHaveTextContent("Images can be at most 5 MB on WhatsApp.");
    expect(onUploadFile).not.toHaveBeenCalled();
  });
});

