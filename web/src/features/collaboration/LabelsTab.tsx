import { Badge, Button, ColorSwatch, Group, Modal, Paper, Skeleton, Stack, Table, Text, TextInput, Tooltip } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconCheck, IconPlus, IconTag } from "@tabler/icons-react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useId, useState, type FormEvent } from "react";
import { keys } from "../../api/cache";
import {
  createLabel,
  deleteLabel,
  LABEL_COLORS,
  updateLabel,
  useLabels,
  type LabelColor,
  type LabelOut,
} from "../../api/collaboration";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";

/** The palette as radio buttons: a swatch per colour, named for screen readers. */
export function ColorChoice({ value, onChange, label }: { value: LabelColor; onChange: (color: LabelColor) => void; label: string }) {
  const id = useId();
  return (
    <div>
      <Text size="sm" fw={500} mb={4} id={id}>
        {label}
      </Text>
      <Group gap={6} role="radiogroup" aria-labelledby={id}>
        {LABEL_COLORS.map((color) => (
          <Tooltip key={color} label={color} openDelay={300}>
            <ColorSwatch
              component="button"
              type="button"
              role="radio"
              aria-checked={value === color}
              aria-label={color}
              color={`var(--mantine-color-${color}-6)`}
              size={24}
              onClick={() => onChange(color)}
              style={{ cursor: "pointer", color: "white" }}
            >
              {value === color && <IconCheck size={14} />}
            </ColorSwatch>
          </Tooltip>
        ))}
      </Group>
    </div>
  );
}

function EditLabelModal({ label, onClose }: { label: LabelOut | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [color, setColor] = useState<LabelColor>("blue");
  const [loadedFor, setLoadedFor] = useState<string | null>(null);
  if (label && loadedFor !== label.id) {
    setLoadedFor(label.id);
    setName(label.label);
    setColor(label.color);
  }
  const save = useMutation({
    mutationFn: () => {
      if (!label) throw new Error("No label to change.");
      const renamed = name.trim() && name.trim().toLowerCase() !== label.label ? name : undefined;
      return updateLabel(label.id, { label: renamed, color });
    },
    meta: { silent: true },
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: keys.labels });
      if (label && saved.label !== label.label) {
        // Every conversation carrying it was renamed.
        void queryClient.invalidateQueries({ queryKey: keys.conversations });
        void queryClient.invalidateQueries({ queryKey: ["conversation"] });
      }
      notifications.show({ color: "teal", message: "Label saved." });
      close();
    },
  });
  const close = () => {
    setLoadedFor(null);
    save.reset();
    onClose();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <Modal opened={Boolean(label)} onClose={close} title={label ? `Edit label “${label.label}”` : "Edit label"}>
      <form onSubmit={submit}>
        <Stack gap="sm">
          <TextInput
            label="Name"
            description={label && label.count > 0 ? `Renaming changes it on ${label.count} conversation${label.count === 1 ? "" : "s"}.` : undefined}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            maxLength={64}
            required
            data-autofocus
          />
          <ColorChoice label="Colour" value={color} onChange={setColor} />
          {save.error ? <ApiErrorAlert error={save.error} /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending} disabled={!name.trim()}>
              Save
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** The company's labels: anyone adds one; administrators rename, recolour and delete them everywhere. */
export function LabelsTab({ admin }: { admin: boolean }) {
  const queryClient = useQueryClient();
  const labels = useLabels();
  const [name, setName] = useState("");
  const [color, setColor] = useState<LabelColor>("blue");
  const [editing, setEditing] = useState<LabelOut | null>(null);
  const create = useMutation({
    mutationFn: () => createLabel({ label: name, color }),
    meta: { silent: true },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.labels });
      setName("");
      notifications.show({ color: "teal", message: "Label added." });
    },
  });
  const remove = useMutation({
    mutationFn: (label: LabelOut) => deleteLabel(label.id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.labels });
      void queryClient.invalidateQueries({ queryKey: keys.conversations });
      void queryClient.invalidateQueries({ queryKey: ["conversation"] });
      notifications.show({ color: "teal", message: "Label deleted." });
    },
  });
  return (
    <Stack>
      <Text c="dimmed" size="sm" maw={640}>
        Labels sort conversations (VIP, refund, bug…): add them from a conversation&apos;s header and filter the inbox by
        them. {admin ? "Renaming or deleting a label changes every conversation carrying it." : "Administrators rename, recolour and delete labels."}
      </Text>
      <Paper withBorder radius="md" p="md">
        <form
          onSubmit={(event) => {
            event.preventDefault();
            create.mutate();
          }}
        >
          <Stack gap="sm">
            <Group align="flex-end" wrap="wrap">
              <TextInput
                label="New label"
                placeholder="e.g. vip"
                value={name}
                onChange={(e) => setName(e.currentTarget.value)}
                maxLength={64}
                style={{ flex: "1 1 200px" }}
              />
              <Button type="submit" leftSection={<IconPlus size={16} />} loading={create.isPending} disabled={!name.trim()}>
                Add label
              </Button>
            </Group>
            <ColorChoice label="Colour of the new label" value={color} onChange={setColor} />
            {create.error ? <ApiErrorAlert error={create.error} onClose={() => create.reset()} /> : null}
          </Stack>
        </form>
      </Paper>
      {labels.error ? <ApiErrorAlert error={labels.error} title="Labels could not be loaded" /> : null}
      <Paper withBorder radius="md">
        <Table.ScrollContainer minWidth={480}>
          <Table verticalSpacing="sm" aria-label="Labels">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Label</Table.Th>
                <Table.Th>Conversations</Table.Th>
                {admin && <Table.Th />}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {labels.isLoading && (
                <Table.Tr>
                  <Table.Td colSpan={3}>
                    <Skeleton height={20} />
                  </Table.Td>
                </Table.Tr>
              )}
              {(labels.data ?? []).map((label) => (
                <Table.Tr key={label.id}>
                  <Table.Td>
                    <Badge variant="light" color={label.color} radius="sm" style={{ textTransform: "none" }}>
                      {label.label}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    {label.count > 0 ? (
                      <Link to="/inbox" search={{ label: label.label }} className="mantine-focus-auto">
                        <Text span size="sm" c="teal" td="underline">
                          {label.count} conversation{label.count === 1 ? "" : "s"}
                        </Text>
                      </Link>
                    ) : (
                      <Text size="sm" c="dimmed">
                        None yet
                      </Text>
                    )}
                  </Table.Td>
                  {admin && (
                    <Table.Td>
                      <Group gap={4} justify="flex-end" wrap="nowrap">
                        <Button size="xs" variant="subtle" aria-label={`Edit label ${label.label}`} onClick={() => setEditing(label)}>
                          Edit
                        </Button>
                        <Button
                          size="xs"
                          variant="subtle"
                          color="red"
                          aria-label={`Delete label ${label.label}`}
                          loading={remove.isPending && remove.variables?.id === label.id}
                          onClick={() => {
                            const where = label.count > 0 ? ` It is removed from ${label.count} conversation${label.count === 1 ? "" : "s"}.` : "";
                            if (window.confirm(`Delete the label “${label.label}”?${where}`)) remove.mutate(label);
                          }}
                        >
                          Delete
                        </Button>
                      </Group>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        {labels.isSuccess && labels.data.length === 0 && (
          <Stack align="center" gap={4} p="xl">
            <IconTag size={28} color="var(--mantine-color-dimmed)" />
            <Text c="dimmed">No labels yet.</Text>
          </Stack>
        )}
      </Paper>
      <EditLabelModal label={editing} onClose={() => setEditing(null)} />
    </Stack>
  );
}
