import { ActionIcon, Alert, Button, CopyButton, Group, Modal, Stack, Text, TextInput, Tooltip } from "@mantine/core";
import { IconAlertTriangle, IconCheck, IconCopy } from "@tabler/icons-react";

/**
 * A secret the server shows only once (a new API key, a webhook signing secret): copy it now, it cannot be
 * shown again. Closing needs a deliberate click, never a stray one outside the dialog.
 */
export function SecretOnceModal({
  secret,
  title,
  label,
  hint,
  onClose,
}: {
  secret: string | null;
  title: string;
  label: string;
  hint?: string;
  onClose: () => void;
}) {
  return (
    <Modal opened={Boolean(secret)} onClose={onClose} title={title} closeOnClickOutside={false} size="lg">
      {secret && (
        <Stack gap="md">
          <Alert color="yellow" variant="light" icon={<IconAlertTriangle size={18} />} title="Copy it now">
            You will not see it again: only a hash is kept. If it is lost, replace it with a new one.
          </Alert>
          <TextInput
            label={label}
            value={secret}
            readOnly
            styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
            onFocus={(e) => e.currentTarget.select()}
            data-testid="secret-value"
            rightSectionWidth={42}
            rightSection={
              <CopyButton value={secret} timeout={2000}>
                {({ copied, copy }) => (
                  <Tooltip label={copied ? "Copied" : "Copy"} withArrow>
                    <ActionIcon variant="subtle" color={copied ? "teal" : "gray"} onClick={copy} aria-label={copied ? "Copied" : `Copy ${label.toLowerCase()}`}>
                      {copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
                    </ActionIcon>
                  </Tooltip>
                )}
              </CopyButton>
            }
          />
          {hint && (
            <Text size="sm" c="dimmed">
              {hint}
            </Text>
          )}
          <Group justify="flex-end">
            <Button onClick={onClose}>I have stored it</Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
