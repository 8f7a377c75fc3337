import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearSession, startSession } from "../../api/session";
import { message, renderUi } from "../../test/render";
import { MessageBubble } from "./MessageBubble";
import { reactionsByMessage } from "./messageModel";

describe("message renderer: every message type", () => {
  let fetchMock: ReturnType<typeof vi.fn>;

  beforeEach(() => {
    fetchMock = vi.fn(async () => new Response(new Blob(["binary"], { type: "image/jpeg" }), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    URL.createObjectURL = vi.fn(() => "blob:media-1");
    URL.revokeObjectURL = vi.fn();
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    clearSession();
  });

  it("renders text with its links clickable and opening in a new tab", () => {
    renderUi(<MessageBubble message={message({ type: "text", content: { body: "Track it at https://example.com/t/42 please" } })} />);
    const link = screen.getByRole("link", { name: "https://example.com/t/42" });
    expect(link).toHaveAttribute("href", "https://example.com/t/42");
    expect(link).toHaveAttribute("target", "_blank");
    expect(link).toHaveAttribute("rel", expect.stringContaining("noopener"));
    expect(screen.getByText(/Track it at/)).toBeInTheDocument();
  });

  it("downloads a stored inbound image with the access token and shows it inline with its caption", async () => {
    startSession({ accessToken: "token-123", expiresIn: 900, user: { id: "u", email: "a@b.c", name: "A", role: "agent", tenantId: "t" } });
    const m = message({
      type: "image",
      content: { id: "1479537139650973", mime_type: "image/jpeg", caption: "The damaged box", media: { stored: true, mimeType: "image/jpeg", size: 48213 } },
    });
    renderUi(<MessageBubble message={m} />);
    const img = await screen.findByRole("img", { name: "The damaged box" });
    expect(img).toHaveAttribute("src", "blob:media-1");
    const request = fetchMock.mock.calls[0]?.[0] as Request;
    expect(new URL(request.url).pathname).toBe(`/api/messages/${m.id}/media`);
    expect(request.headers.get("Authorization")).toBe("Bearer token-123");
    expect(screen.getByText("The damaged box", { selector: "span" })).toBeInTheDocument();
  });

  it("shows an outbound image sent by link without downloading it", () => {
    renderUi(
      <MessageBubble message={message({ type: "image", direction: "outbound", status: "sent", content: { link: "https://cdn.example.com/p.jpg" } })} />,
    );
    expect(screen.getByRole("img", { name: "Image" })).toHaveAttribute("src", "https://cdn.example.com/p.jpg");
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("says so when an inbound file could not be downloaded from WhatsApp", () => {
    renderUi(<MessageBubble message={message({ type: "image", content: { id: "9", media: { stored: false, error: "expired" } } })} />);
    expect(screen.getByText("The file could not be downloaded from WhatsApp.")).toBeInTheDocument();
  });

  it("renders stickers inline", async () => {
    renderUi(<MessageBubble message={message({ type: "sticker", content: { id: "1", animated: true, media: { stored: true, mimeType: "image/webp", size: 3000 } } })} />);
    expect(await screen.findByRole("img", { name: "Sticker" })).toHaveAttribute("src", "blob:media-1");
  });

  it("renders voice notes with an audio player", async () => {
    const { container } = renderUi(
      <MessageBubble message={message({ type: "audio", content: { id: "1", voice: true, media: { stored: true, mimeType: "audio/ogg", size: 9000 } } })} />,
    );
    expect(screen.getByText("Voice message")).toBeInTheDocument();
    await waitFor(() => expect(container.querySelector("audio")).toHaveAttribute("src", "blob:media-1"));
    expect(container.querySelector("audio")).toHaveAttribute("controls");
  });

  it("renders videos with a player and caption", async () => {
    const { container } = renderUi(
      <MessageBubble message={message({ type: "video", content: { id: "1", caption: "Unboxing", media: { stored: true, mimeType: "video/mp4", size: 1_500_000 } } })} />,
    );
    await waitFor(() => expect(container.querySelector("video")).toHaveAttribute("src", "blob:media-1"));
    expect(screen.getByText("Unboxing")).toBeInTheDocument();
  });

  it("renders documents with their file name, size and type", () => {
    renderUi(
      <MessageBubble
        message={message({
          type: "document",
          content: { id: "1", filename: "invoice-4521.pdf", mime_type: "application/pdf", media: { stored: true, mimeType: "application/pdf", size: 12288 } },
        })}
      />,
    );
    expect(screen.getByText("invoice-4521.pdf")).toBeInTheDocument();
    expect(screen.getByText("12 KB · application/pdf")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Download invoice-4521.pdf" })).toBeInTheDocument();
  });

  it("renders locations with their name, coordinates and a map link", () => {
    renderUi(
      <MessageBubble
        message={message({ type: "location", content: { latitude: 37.483307, longitude: 122.148981, name: "Pablo Morales", address: "1 Hacker Way, Menlo Park, CA 94025" } })}
      />,
    );
    expect(screen.getByText("Pablo Morales")).toBeInTheDocument();
    expect(screen.getByText("1 Hacker Way, Menlo Park, CA 94025")).toBeInTheDocument();
    expect(screen.getByText("37.483307, 122.148981")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Open in map" }).getAttribute("href")).toContain("mlat=37.483307");
  });

  it("renders shared contact cards", () => {
    renderUi(
      <MessageBubble
        message={message({
          type: "contacts",
          content: {
            contacts: [
              {
                name: { first_name: "Lucía", last_name: "Gómez", formatted_name: "Lucía Gómez" },
                org: { company: "Google" },
                phones: [{ phone: "+1 (983) 555-2319", wa_id: "19835552319", type: "MOBILE" }],
              },
            ],
          },
        })}
      />,
    );
    expect(screen.getByText("Lucía Gómez")).toBeInTheDocument();
    expect(screen.getByText("Google")).toBeInTheDocument();
    expect(screen.getByText(/\+1 \(983\) 555-2319/)).toBeInTheDocument();
  });

  it("renders interactive button and list replies with their titles", () => {
    renderUi(
      <>
        <MessageBubble message={message({ type: "interactive", content: { type: "button_reply", button_reply: { id: "yes", title: "Yes, confirm" } } })} />
        <MessageBubble
          message={message({
            type: "interactive",
            content: { type: "list_reply", list_reply: { id: "priority_express", title: "Priority Mail Express", description: "Next Day to 2 Days" } },
          })}
        />
      </>,
    );
    expect(screen.getByText("Button reply")).toBeInTheDocument();
    expect(screen.getByText("Yes, confirm")).toBeInTheDocument();
    expect(screen.getByText("List reply")).toBeInTheDocument();
    expect(screen.getByText("Priority Mail Express")).toBeInTheDocument();
    expect(screen.getByText("Next Day to 2 Days")).toBeInTheDocument();
  });

  it("renders interactive messages we sent with their buttons", () => {
    renderUi(
      <MessageBubble
        message={message({
          type: "interactive",
          direction: "outbound",
          status: "delivered",
          content: {
            type: "button",
            body: { text: "Confirm your slot?" },
            action: { buttons: [{ type: "reply", reply: { id: "y", title: "Yes" } }, { type: "reply", reply: { id: "n", title: "No" } }] },
          },
        })}
      />,
    );
    expect(screen.getByText("Confirm your slot?")).toBeInTheDocument();
    expect(screen.getByText("Yes")).toBeInTheDocument();
    expect(screen.getByText("No")).toBeInTheDocument();
  });

  it("renders template quick-reply buttons pressed by the customer", () => {
    renderUi(<MessageBubble message={message({ type: "button", content: { payload: "Unsubscribe", text: "Unsubscribe" } })} />);
    expect(screen.getByText("Quick reply")).toBeInTheDocument();
    expect(screen.getByText("Unsubscribe")).toBeInTheDocument();
  });

  it("renders templates we sent as the customer saw them", () => {
    renderUi(
      <MessageBubble
        message={message({
          type: "template",
          direction: "outbound",
          status: "read",
          content: { name: "order_update", language: { code: "en_US" }, rendered: "Hi Maria, your order #4521 is now shipped." },
        })}
      />,
    );
    expect(screen.getByText("Template · order_update")).toBeInTheDocument();
    expect(screen.getByText("Hi Maria, your order #4521 is now shipped.")).toBeInTheDocument();
  });

  it("renders system messages in the middle of the thread", () => {
    const { container } = renderUi(
      <MessageBubble message={message({ type: "system", content: { body: "User Sheena Nelson changed from 16505551234 to 12195555358", type: "user_changed_number" } })} />,
    );
    expect(container.querySelector(".system-message")).toHaveTextContent("User Sheena Nelson changed from 16505551234 to 12195555358");
  });

  it("explains unsupported messages instead of showing nothing", () => {
    renderUi(
      <MessageBubble
        message={message({
          type: "unsupported",
          content: { original_type: "unsupported", raw: { errors: [{ code: 131051, title: "Message type unknown" }] } },
        })}
      />,
    );
    expect(screen.getByText(/can’t be shown here/)).toHaveTextContent("Message type unknown");
  });

  it("renders orders and types this app does not know with a note", () => {
    renderUi(
      <>
        <MessageBubble message={message({ type: "order", content: { catalog_id: "1", product_items: [{}, {}], text: "for Friday" } })} />
        <MessageBubble message={message({ type: "hologram", content: {} })} />
      </>,
    );
    expect(screen.getByText("🛒 Order with 2 items: for Friday")).toBeInTheDocument();
    expect(screen.getByText(/A “hologram” message/)).toBeInTheDocument();
  });

  it("shows deleted messages as deleted", () => {
    renderUi(<MessageBubble message={message({ type: "text", content: { body: "oops", revoked: true } })} />);
    expect(screen.getByText("This message was deleted.")).toBeInTheDocument();
    expect(screen.queryByText("oops")).not.toBeInTheDocument();
  });

  it("shows a reaction on its own only when its message is not loaded", () => {
    renderUi(<MessageBubble message={message({ type: "reaction", content: { message_id: "wamid.GONE", emoji: "👍" } })} />);
    expect(screen.getByText("Reacted 👍 to a message")).toBeInTheDocument();
  });

  it("quotes the message a reply answers and jumps to it", async () => {
    const original = message({ type: "text", direction: "outbound", status: "read", content: { body: "Your parcel left the depot." } });
    const onJump = vi.fn();
    renderUi(
      <MessageBubble
        message={message({ type: "text", content: { body: "Thanks!" }, replyToMessageId: original.id, replyToWamid: original.wamid })}
        replyTo={original}
        onJump={onJump}
      />,
    );
    const quote = screen.getByRole("button", { name: "Reply to: Your parcel left the depot." });
    expect(within(quote).getByText("You")).toBeInTheDocument();
    await userEvent.click(quote);
    expect(onJump).toHaveBeenCalledWith(original.id);
  });

  it("shows the ticks of outbound messages: queued, sent, delivered, read", () => {
    renderUi(
      <>
        {(["queued", "sent", "delivered", "read"] as const).map((status) => (
          <MessageBubble key={status} message={message({ type: "text", direction: "outbound", status, content: { body: status } })} />
        ))}
      </>,
    );
    for (const label of ["Queued", "Sent", "Delivered", "Read"]) {
      expect(screen.getByRole("img", { name: label })).toBeInTheDocument();
    }
  });

  it("shows a failed message in red with the catalogue's explanation and a Retry button", async () => {
    const onRetry = vi.fn();
    const failed = message({
      type: "template",
      direction: "outbound",
      status: "failed",
      content: { name: "hello_world", rendered: "Hello World" },
      error: { code: 131026, title: "Message undeliverable", details: null, explanation: "This number is not on WhatsApp or cannot receive messages." },
    });
    const { container } = renderUi(<MessageBubble message={failed} onRetry={onRetry} />);
    expect(container.querySelector(".bubble")).toHaveAttribute("data-failed", "true");
    expect(screen.getByRole("alert")).toHaveTextContent("Not delivered (131026): This number is not on WhatsApp or cannot receive messages.");
    await userEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(onRetry).toHaveBeenCalledWith(failed);
  });

  it("shows reactions on the message they react to: the customer's and ours", () => {
    const target = message({ type: "text", direction: "outbound", status: "read", content: { body: "Shipped!" }, reactions: [{ from: "customer", emoji: "❤️" }] });
    const ours = message({ type: "text", content: { body: "Thank you" } });
    const ourReaction = message({
      type: "reaction",
      direction: "outbound",
      status: "sent",
      senderUserId: "agent-1",
      content: { message_id: ours.wamid, emoji: "👍" },
      createdAt: "2026-11-20T10:20:00Z",
    });
    const removed = message({
      type: "reaction",
      direction: "outbound",
      status: "sent",
      senderUserId: "agent-1",
      content: { message_id: target.wamid, emoji: "" },
    });
    const reactions = reactionsByMessage([target, ours, ourReaction, removed]);
    expect(reactions.get(target.id)).toEqual([{ emoji: "❤️", from: "customer" }]);
    expect(reactions.get(ours.id)).toEqual([{ emoji: "👍", from: "agent-1" }]);
    renderUi(<MessageBubble message={target} reactions={reactions.get(target.id)} />);
    expect(screen.getByLabelText("Reactions: ❤️")).toBeInTheDocument();
  });

  it("offers reply and reactions on delivered messages", async () => {
    const m = message({ type: "text", content: { body: "Is it in stock?" } });
    const onReply = vi.fn();
    const onReact = vi.fn();
    renderUi(<MessageBubble message={m} onReply={onReply} onReact={onReact} />);
    await userEvent.click(screen.getByRole("button", { name: "Reply" }));
    expect(onReply).toHaveBeenCalledWith(m);
    await userEvent.click(screen.getByRole("button", { name: "React" }));
    await userEvent.click(await screen.findByRole("button", { name: "React with 👍" }));
    expect(onReact).toHaveBeenCalledWith(m, "👍");
  });
});
