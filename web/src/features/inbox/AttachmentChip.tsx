import { Box, CloseButton, Group, Loader, Progress, Text, ThemeIcon } from "@mantine/core";
import { IconFileText, IconMusic, IconPhoto, IconSticker, IconVideo } from "@tabler/icons-react";
import type { MediaKind } from "../../api/upload";
import { fileSize } from "../../lib/format";

export type Attachment = {
  /** A local id, so a finished upload can tell whether it is still the current attachment. */
  key: string;
  name: string;
  size: number;
  kind: MediaKind;
  status: "uploading" | "ready" | "failed";
  progress: number;
  uploadId?: string;
  error?: string;
};

const ICON = { image: IconPhoto, video: IconVideo, audio: IconMusic, document: IconFileText, sticker: IconSticker };

/** The file picked for the next message: name, size, upload progress, and a way to remove it. */
export function AttachmentChip({ attachment, onRemove }: { attachment: Attachment; onRemove: () => void }) {
  const Icon = ICON[attachment.kind];
  const uploading = attachment.status === "uploading";
  return (
    <Box className="attachment-chip" data-testid="attachment-chip" data-status={attachment.status}>
      <Group gap="xs" wrap="nowrap" justify="space-between">
        <Group gap="xs" wrap="nowrap" style={{ minWidth: 0 }}>
          <ThemeIcon variant="light" color={attachment.status === "failed" ? "red" : "teal"} size="lg" radius="md">
            {uploading ? <Loader size={16} aria-label="Uploading" /> : <Icon size={18} />}
          </ThemeIcon>
          <Box style={{ minWidth: 0 }}>
            <Text size="sm" fw={500} truncate="end" title={attachment.name}>
              {attachment.name}
            </Text>
            <Text size="xs" c={attachment.status === "failed" ? "red" : "dimmed"} role={attachment.status === "failed" ? "alert" : undefined}>
              {attachment.status === "failed"
                ? attachment.error
                : `${fileSize(attachment.size)} · ${attachment.kind}${uploading ? ` · uploading ${Math.round(attachment.progress * 100)}%` : " · ready to send"}`}
            </Text>
          </Box>
        </Group>
        <CloseButton size="sm" aria-label={uploading ? "Cancel upload" : "Remove attachment"} onClick={onRemove} />
      </Group>
      {uploading && (
        <Progress
          value={attachment.progress * 100}
          size="xs"
          mt={6}
          aria-label={`Uploading ${attachment.name}`}
          animated={attachment.progress >= 1}
        />
      )}
    </Box>
  );
}
