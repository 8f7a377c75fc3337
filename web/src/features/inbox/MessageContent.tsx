import { Anchor, Badge, Box, Button, Group, Image, Loader, Paper, Stack, Text, ThemeIcon } from "@mantine/core";
import {
  IconAlertTriangle,
  IconDownload,
  IconFileText,
  IconMapPin,
  IconMicrophone,
  IconPhone,
  IconPhotoOff,
  IconUser,
} from "@tabler/icons-react";
import type { ReactNode } from "react";
import type { MessageOut } from "../../api/resources";
import { fileSize } from "../../lib/format";
import { loadMedia, useMessageMedia } from "./media";
import { linkify, num, obj, str, storedMedia, type Obj } from "./messageModel";

export function RichText({ text }: { text: string }) {
  return (
    <Text size="sm" style={{ whiteSpace: "pre-wrap", overflowWrap: "anywhere" }}>
      {linkify(text).map((part, i) =>
        part.href ? (
          <Anchor key={i} href={part.href} target="_blank" rel="noopener noreferrer" size="sm">
            {part.text}
          </Anchor>
        ) : (
          <span key={i}>{part.text}</span>
        ),
      )}
    </Text>
  );
}

function Note({ children, icon }: { children: ReactNode; icon?: ReactNode }) {
  return (
    <Group gap={6} wrap="nowrap">
      {icon}
      <Text size="sm" c="dimmed" fs="italic">
        {children}
      </Text>
    </Group>
  );
}

/** Where the media of a message comes from: our stored copy (inbound) or the link it was sent with (outbound). */
function useMediaSource(message: MessageOut): { url: string | null; loading: boolean; problem: string | null } {
  const stored = storedMedia(message);
  const link = str(message.content.link);
  const fromStore = stored?.stored === true;
  const media = useMessageMedia(message.id, fromStore);
  if (fromStore) {
    return { url: media.url, loading: media.loading, problem: media.failed ? "The file could not be loaded." : null };
  }
  if (link) return { url: link, loading: false, problem: null };
  if (stored && !stored.stored) return { url: null, loading: false, problem: "The file could not be downloaded from WhatsApp." };
  if (message.direction === "inbound") return { url: null, loading: true, problem: null };
  return { url: null, loading: false, problem: "Sent from a WhatsApp media id; no preview here." };
}

function MediaProblem({ text }: { text: string }) {
  return <Note icon={<IconPhotoOff size={16} aria-hidden />}>{text}</Note>;
}

function Caption({ content }: { content: Obj }) {
  const caption = str(content.caption);
  return caption ? <RichText text={caption} /> : null;
}

function ImageMessage({ message, sticker }: { message: MessageOut; sticker?: boolean }) {
  const source = useMediaSource(message);
  const size = sticker ? 140 : 280;
  return (
    <Stack gap={6}>
      {source.url ? (
        <Anchor href={source.url} target="_blank" rel="noopener noreferrer" aria-label={sticker ? "Sticker" : "Open image"}>
          <Image
            src={source.url}
            alt={str(message.content.caption) ?? (sticker ? "Sticker" : "Image")}
            maw={size}
            mah={sticker ? size : 360}
            fit="contain"
            radius={sticker ? 0 : "sm"}
          />
        </Anchor>
      ) : source.loading ? (
        <Box w={size} h={sticker ? size : 180} className="media-placeholder" aria-label="Loading image">
          <Loader size="sm" />
        </Box>
      ) : (
        <MediaProblem text={source.problem ?? "No image."} />
      )}
      {!sticker && <Caption content={message.content} />}
    </Stack>
  );
}

function AudioMessage({ message }: { message: MessageOut }) {
  const source = useMediaSource(message);
  return (
    <Stack gap={4}>
      {message.content.voice === true && (
        <Note icon={<IconMicrophone size={14} aria-hidden />}>Voice message</Note>
      )}
      {source.url ? (
        <audio controls preload="metadata" src={source.url} aria-label="Audio message" style={{ maxWidth: 280 }} />
      ) : source.loading ? (
        <Loader size="xs" aria-label="Loading audio" />
      ) : (
        <MediaProblem text={source.problem ?? "No audio."} />
      )}
    </Stack>
  );
}

function VideoMessage({ message }: { message: MessageOut }) {
  const source = useMediaSource(message);
  return (
    <Stack gap={6}>
      {source.url ? (
        <video controls preload="metadata" src={source.url} aria-label="Video message" style={{ maxWidth: 300, borderRadius: 6 }} />
      ) : source.loading ? (
        <Box w={280} h={160} className="media-placeholder" aria-label="Loading video">
          <Loader size="sm" />
        </Box>
      ) : (
        <MediaProblem text={source.problem ?? "No video."} />
      )}
      <Caption content={message.content} />
    </Stack>
  );
}

function DocumentMessage({ message }: { message: MessageOut }) {
  const stored = storedMedia(message);
  const filename = str(message.content.filename) ?? "Document";
  const link = str(message.content.link);
  const mime = stored?.mimeType ?? str(message.content.mime_type);
  const download = async () => {
    const url = stored?.stored ? await loadMedia(message.id) : link;
    if (!url) return;
    const anchor = document.createElement("a");
    anchor.href = url;
    anchor.download = filename;
    anchor.rel = "noopener";
    anchor.target = "_blank";
    anchor.click();
  };
  const available = stored?.stored || Boolean(link);
  return (
    <Stack gap={6}>
      <Paper withBorder p="xs" radius="sm" className="document-card">
        <Group gap="sm" wrap="nowrap">
          <ThemeIcon variant="light" size="lg" aria-hidden>
            <IconFileText size={20} />
          </ThemeIcon>
          <Box style={{ minWidth: 0, flex: 1 }}>
            <Text size="sm" fw={500} truncate="end">
              {filename}
            </Text>
            <Text size="xs" c="dimmed">
              {[fileSize(stored?.size), mime].filter(Boolean).join(" · ") || "Document"}
            </Text>
          </Box>
          {available && (
            <Button size="compact-xs" variant="subtle" leftSection={<IconDownload size={14} />} onClick={() => void download()} aria-label={`Download ${filename}`}>
              Open
            </Button>
          )}
        </Group>
      </Paper>
      {stored && !stored.stored && <MediaProblem text="The file could not be downloaded from WhatsApp." />}
      {!stored && message.direction === "inbound" && <Note>Downloading…</Note>}
      <Caption content={message.content} />
    </Stack>
  );
}

function LocationMessage({ content }: { content: Obj }) {
  const lat = num(content.latitude);
  const lon = num(content.longitude);
  const name = str(content.name);
  const address = str(content.address);
  const map = lat !== null && lon !== null ? `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}` : null;
  return (
    <Group gap="sm" wrap="nowrap" align="flex-start">
      <ThemeIcon variant="light" color="red" size="lg" aria-hidden>
        <IconMapPin size={20} />
      </ThemeIcon>
      <Stack gap={2}>
        {name && <Text size="sm" fw={500}>{name}</Text>}
        {address && <Text size="sm">{address}</Text>}
        {lat !== null && lon !== null && (
          <Text size="xs" c="dimmed" ff="monospace">
            {lat.toFixed(6)}, {lon.toFixed(6)}
          </Text>
        )}
        {map && (
          <Anchor href={map} target="_blank" rel="noopener noreferrer" size="sm">
            Open in map
          </Anchor>
        )}
      </Stack>
    </Group>
  );
}

function ContactsMessage({ content }: { content: Obj }) {
  const cards = Array.isArray(content.contacts) ? content.contacts.map(obj) : [];
  if (cards.length === 0) return <Note>Empty contact card</Note>;
  return (
    <Stack gap="xs">
      {cards.map((card, i) => {
        const name = obj(card.name);
        const phones = Array.isArray(card.phones) ? card.phones.map(obj) : [];
        const emails = Array.isArray(card.emails) ? card.emails.map(obj) : [];
        const org = obj(card.org);
        return (
          <Paper key={i} withBorder p="xs" radius="sm" className="document-card">
            <Group gap="sm" wrap="nowrap" align="flex-start">
              <ThemeIcon variant="light" size="lg" radius="xl" aria-hidden>
                <IconUser size={18} />
              </ThemeIcon>
              <Stack gap={2}>
                <Text size="sm" fw={500}>
                  {str(name.formatted_name) ?? ([str(name.first_name), str(name.last_name)].filter(Boolean).join(" ") || "Contact")}
                </Text>
                {str(org.company) && <Text size="xs" c="dimmed">{str(org.company)}</Text>}
                {phones.map((p, j) => (
                  <Group key={j} gap={4}>
                    <IconPhone size={12} aria-hidden />
                    <Text size="xs">
                      {str(p.phone) ?? str(p.wa_id)}
                      {str(p.type) ? ` · ${str(p.type)?.toLowerCase()}` : ""}
                    </Text>
                  </Group>
                ))}
                {emails.map((e, j) => (
                  <Text key={`e${j}`} size="xs">{str(e.email)}</Text>
                ))}
              </Stack>
            </Group>
          </Paper>
        );
      })}
    </Stack>
  );
}

function InteractiveMessage({ content }: { content: Obj }) {
  const kind = str(content.type);
  const reply = obj(content.button_reply ?? content.list_reply);
  if (kind === "button_reply" || kind === "list_reply") {
    return (
      <Stack gap={4}>
        <Badge variant="light" size="xs" w="fit-content">
          {kind === "button_reply" ? "Button reply" : "List reply"}
        </Badge>
        <Text size="sm" fw={500}>{str(reply.title) ?? str(reply.id)}</Text>
        {str(reply.description) && <Text size="xs" c="dimmed">{str(reply.description)}</Text>}
      </Stack>
    );
  }
  if (kind === "nfm_reply") {
    const flow = obj(content.nfm_reply);
    return (
      <Stack gap={4}>
        <Badge variant="light" size="xs" w="fit-content">Form reply</Badge>
        <Text size="sm">{str(flow.body) ?? str(flow.name) ?? "Flow response"}</Text>
      </Stack>
    );
  }
  // An interactive message we sent: header, body, footer and its buttons or list.
  const action = obj(content.action);
  const header = obj(content.header);
  const buttons = Array.isArray(action.buttons) ? action.buttons.map((b) => str(obj(obj(b).reply).title) ?? str(obj(b).title)) : [];
  const sections = Array.isArray(action.sections) ? action.sections.map(obj) : [];
  const cta = obj(action.parameters);
  return (
    <Stack gap={4}>
      {str(header.text) && <Text size="sm" fw={600}>{str(header.text)}</Text>}
      {str(obj(content.body).text) && <RichText text={str(obj(content.body).text) ?? ""} />}
      {str(obj(content.footer).text) && <Text size="xs" c="dimmed">{str(obj(content.footer).text)}</Text>}
      {buttons.length > 0 && (
        <Group gap={4}>
          {buttons.map((title, i) => (
            <Badge key={i} variant="outline" size="sm">{title}</Badge>
          ))}
        </Group>
      )}
      {sections.length > 0 && (
        <Text size="xs" c="dimmed">
          List “{str(action.button) ?? "Options"}”: {sections.flatMap((s) => (Array.isArray(s.rows) ? s.rows : [])).map((r) => str(obj(r).title)).filter(Boolean).join(", ")}
        </Text>
      )}
      {str(cta.url) && (
        <Anchor href={str(cta.url) ?? "#"} target="_blank" rel="noopener noreferrer" size="sm">
          {str(cta.display_text) ?? str(cta.url)}
        </Anchor>
      )}
    </Stack>
  );
}

function TemplateMessage({ content }: { content: Obj }) {
  const rendered = str(content.rendered);
  return (
    <Stack gap={4}>
      <Badge variant="light" color="grape" size="xs" w="fit-content">
        Template · {str(content.name)}
      </Badge>
      {rendered ? <RichText text={rendered} /> : <Note>Template {str(content.name)}</Note>}
    </Stack>
  );
}

/** The body of a message, for every type WhatsApp delivers or we send. */
export function MessageContent({ message }: { message: MessageOut }) {
  const c = message.content;
  if (c.revoked === true) return <Note>This message was deleted.</Note>;
  switch (message.type) {
    case "text":
      return <RichText text={str(c.body) ?? ""} />;
    case "image":
      return <ImageMessage message={message} />;
    case "sticker":
      return <ImageMessage message={message} sticker />;
    case "audio":
      return <AudioMessage message={message} />;
    case "video":
      return <VideoMessage message={message} />;
    case "document":
      return <DocumentMessage message={message} />;
    case "location":
      return <LocationMessage content={c} />;
    case "contacts":
      return <ContactsMessage content={c} />;
    case "interactive":
      return <InteractiveMessage content={c} />;
    case "button":
      return (
        <Stack gap={4}>
          <Badge variant="light" size="xs" w="fit-content">Quick reply</Badge>
          <Text size="sm" fw={500}>{str(c.text) ?? str(c.payload)}</Text>
        </Stack>
      );
    case "template":
      return <TemplateMessage content={c} />;
    case "reaction":
      return <Note>{str(c.emoji) ? `Reacted ${str(c.emoji)} to a message` : "Removed a reaction"}</Note>;
    case "order": {
      const items = Array.isArray(c.product_items) ? c.product_items.length : 0;
      return <Note>🛒 Order with {items} item{items === 1 ? "" : "s"}{str(c.text) ? `: ${str(c.text)}` : ""}</Note>;
    }
    case "system":
      return <Text size="sm">{str(c.body) ?? "System message"}</Text>;
    case "unsupported": {
      const errors = Array.isArray(obj(c.raw).errors) ? (obj(c.raw).errors as unknown[]).map(obj) : [];
      const why = str(errors[0]?.title) ?? str(obj(errors[0]?.error_data).details);
      return (
        <Note icon={<IconAlertTriangle size={16} aria-hidden />}>
          This message type ({str(c.original_type) ?? "unknown"}) can’t be shown here; open WhatsApp on the phone to see it.
          {why ? ` (${why})` : ""}
        </Note>
      );
    }
    default:
      return (
        <Note icon={<IconAlertTriangle size={16} aria-hidden />}>
          A “{message.type}” message, which this app does not display yet.
        </Note>
      );
  }
}
