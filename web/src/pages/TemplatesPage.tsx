import { ActionIcon, Alert, Badge, Button, Center, Group, Modal, Paper, Skeleton, Table, Text, Tooltip, VisuallyHidden } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconPlus, IconRefresh, IconTrash } from "@tabler/icons-react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useState } from "react";
import { keys } from "../api/cache";
import { useTemplates } from "../api/hooks";
import { deleteTemplate, syncTemplates, type Template } from "../api/resources";
import { useAuth } from "../auth/AuthProvider";
import { TemplatePreviewCard } from "../features/inbox/TemplatePicker";
import { Page } from "./Page";

const STATUS_COLOR: Record<string, string> = {
  APPROVED: "teal",
  PENDING: "yellow",
  REJECTED: "red",
  PAUSED: "orange",
  DISABLED: "gray",
};

export function TemplatesPage() {
  const templates = useTemplates();
  const queryClient = useQueryClient();
  const { isAdmin } = useAuth();
  const [preview, setPreview] = useState<Template | null>(null);
  const sync = useMutation({
    mutationFn: syncTemplates,
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.templates });
      notifications.show({ color: "teal", message: "Templates synced from WhatsApp." });
    },
  });
  const remove = useMutation({
    mutationFn: (template: Template) => deleteTemplate(template.id),
    onSuccess: (_, template) => {
      queryClient.setQueryData<Template[]>(keys.templates, (list) => list?.filter((t) => t.id !== template.id));
      void queryClient.invalidateQueries({ queryKey: keys.templates });
      setPreview((shown) => (shown?.id === template.id ? null : shown));
      notifications.show({ color: "teal", message: `Template ${template.name} (${template.language}) deleted.` });
    },
  });
  const confirmDelete = (template: Template) => {
    if (window.confirm(`Delete the template ${template.name} (${template.language}) at WhatsApp and here? Messages already sent are kept; this cannot be undone.`)) {
      remove.mutate(template);
    }
  };
  const columns = isAdmin ? 6 : 5;
  const items = templates.data ?? [];
  return (
    <Page
      title="Templates"
      description="Message templates approved by WhatsApp: the only messages you can send outside the 24-hour window."
      actions={
        isAdmin && !templates.unavailable ? (
          <Group gap="xs" wrap="wrap">
            <Button leftSection={<IconRefresh size={16} />} variant="light" onClick={() => sync.mutate()} loading={sync.isPending}>
              Sync from WhatsApp
            </Button>
            <Button component={Link} to="/templates/new" leftSection={<IconPlus size={16} />}>
              New template
            </Button>
          </Group>
        ) : null
      }
    >
      {templates.unavailable ? (
        <Alert color="gray" variant="light">
          {templates.unavailable}
        </Alert>
      ) : (
        <Paper withBorder radius="md">
          <Table.ScrollContainer minWidth={640}>
            <Table highlightOnHover verticalSpacing="sm" aria-label="Templates">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Language</Table.Th>
                  <Table.Th>Category</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Body</Table.Th>
                  {isAdmin && (
                    <Table.Th>
                      <VisuallyHidden>Actions</VisuallyHidden>
                    </Table.Th>
                  )}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {templates.isLoading &&
                  Array.from({ length: 3 }, (_, i) => (
                    <Table.Tr key={i}>
                      {Array.from({ length: columns }, (__, j) => (
                        <Table.Td key={j}>
                          <Skeleton height={14} />
                        </Table.Td>
                      ))}
                    </Table.Tr>
                  ))}
                {items.map((template) => (
                  <Table.Tr key={template.id} style={{ cursor: "pointer" }} onClick={() => setPreview(template)}>
                    <Table.Td>
                      <Text size="sm" fw={600} ff="monospace">
                        {template.name}
                      </Text>
                    </Table.Td>
                    <Table.Td>{template.language}</Table.Td>
                    <Table.Td>
                      <Badge variant="light" color="grape" size="sm">
                        {template.category.toLowerCase()}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        <Badge color={STATUS_COLOR[template.status.toUpperCase()] ?? "gray"} size="sm">
                          {template.status.toLowerCase()}
                        </Badge>
                        {template.rejectedReason && (
                          <Text size="xs" c="red">
                            {template.rejectedReason}
                          </Text>
                        )}
                      </Group>
                    </Table.Td>
                    <Table.Td maw={380}>
                      <Text size="sm" c="dimmed" lineClamp={2}>
                        {template.components.find((c) => c.type.toUpperCase() === "BODY")?.text ?? ""}
                      </Text>
                    </Table.Td>
                    {isAdmin && (
                      <Table.Td onClick={(e) => e.stopPropagation()}>
                        <Tooltip label="Delete" withArrow>
                          <ActionIcon
                            variant="subtle"
                            color="red"
                            aria-label={`Delete ${template.name} (${template.language})`}
                            loading={remove.isPending && remove.variables?.id === template.id}
                            onClick={() => confirmDelete(template)}
                          >
                            <IconTrash size={16} />
                          </ActionIcon>
                        </Tooltip>
                      </Table.Td>
                    )}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {templates.isSuccess && items.length === 0 && (
            <Center p="xl">
              <Text c="dimmed">{isAdmin ? "No templates yet. Create one, or sync them from WhatsApp." : "No templates yet."}</Text>
            </Center>
          )}
        </Paper>
      )}
      <Modal opened={Boolean(preview)} onClose={() => setPreview(null)} title={preview ? `${preview.name} · ${preview.language}` : ""}>
        {preview && <TemplatePreviewCard template={preview} values={{}} />}
      </Modal>
    </Page>
  );
}
