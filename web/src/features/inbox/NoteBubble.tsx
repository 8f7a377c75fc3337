import { ActionIcon, Box, Group, Text, Tooltip } from "@mantine/core";
import { IconLock, IconTrash } from "@tabler/icons-react";
import { memo } from "react";
import type { NoteOut } from "../../api/collaboration";
import { clockTime, fullTime } from "../../lib/format";
import { splitMentions, type Teammate } from "./composerTriggers";

export type NoteBubbleProps = {
  note: NoteOut;
  teammates: Teammate[];
  /** Given when this user may delete the note (its author or an administrator). */
  onDelete?: (note: NoteOut) => void;
  deleting?: boolean;
};

/** A private note among the messages: yellow, dashed, with its author; never sent to WhatsApp. */
export const NoteBubble = memo(function NoteBubble({ note, teammates, onDelete, deleting }: NoteBubbleProps) {
  const author = note.author?.name ?? "A former teammate";
  return (
    <Box className="note-row" data-note-id={note.id} data-testid="note" aria-label={`Private note by ${author}`} role="article">
      <Box className="note-bubble">
        <Group gap={4} wrap="nowrap" mb={2}>
          <IconLock size={12} color="var(--mantine-color-yellow-8)" aria-hidden />
          <Text size="xs" fw={700} c="yellow.9" className="note-label">
            Private note · {author}
          </Text>
        </Group>
        <Text size="sm" style={{ whiteSpace: "pre-wrap", overflowWrap: "anywhere" }}>
          {splitMentions(note.body, teammates).map((part, i) =>
            part.mention ? (
              <span key={i} className="mention" title={part.mention.name}>
                {part.text}
              </span>
            ) : (
              <span key={i}>{part.text}</span>
            ),
          )}
        </Text>
        <Group gap={4} justify="flex-end">
          <Tooltip label={fullTime(note.createdAt)} withArrow openDelay={400}>
            <Text size="xs" c="dimmed" component="time" dateTime={note.createdAt}>
              {note.updatedAt !== note.createdAt ? "edited · " : ""}
              {clockTime(note.createdAt)}
            </Text>
          </Tooltip>
        </Group>
      </Box>
      {onDelete && (
        <Group gap={2} className="bubble-actions" wrap="nowrap">
          <Tooltip label="Delete note">
            <ActionIcon variant="subtle" color="gray" size="sm" aria-label="Delete note" onClick={() => onDelete(note)} loading={deleting}>
              <IconTrash size={14} />
            </ActionIcon>
          </Tooltip>
        </Group>
      )}
    </Box>
  );
});
