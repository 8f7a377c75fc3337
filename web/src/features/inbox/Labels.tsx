import {
  ActionIcon,
  Badge,
  Box,
  Button,
  Checkbox,
  ColorSwatch,
  Group,
  Popover,
  ScrollArea,
  Stack,
  Text,
  TextInput,
  Tooltip,
} from "@mantine/core";
import { IconPlus, IconTag, IconX } from "@tabler/icons-react";
import { useState } from "react";
import { labelColor, type LabelOut } from "../../api/collaboration";

/** A label name as the API keeps it: lower case, single spaces. */
export function cleanLabel(value: string): string {
  return value.split(/\s+/).filter(Boolean).join(" ").toLowerCase();
}

export type LabelBadgesProps = {
  labels: string[];
  catalog: LabelOut[] | undefined;
  /** How many to show before "+N". */
  max?: number;
  size?: "xs" | "sm";
  onRemove?: (label: string) => void;
  disabled?: boolean;
};

/** A conversation's labels as coloured badges. */
export function LabelBadges({ labels, catalog, max = 3, size = "xs", onRemove, disabled }: LabelBadgesProps) {
  if (labels.length === 0) return null;
  const shown = labels.slice(0, max);
  const hidden = labels.slice(max);
  return (
    <Group gap={4} wrap="nowrap" className="label-badges" aria-label={`Labels: ${labels.join(", ")}`} style={{ minWidth: 0, overflow: "hidden" }}>
      {shown.map((label) => (
        <Badge
          key={label}
          size={size}
          variant="light"
          color={labelColor(catalog, label)}
          radius="sm"
          maw={140}
          title={label}
          // Whole badges or none: a squeezed badge shows nothing readable (the rest are in "+N").
          style={{ flexShrink: 0, textTransform: "none" }}
          rightSection={
            onRemove ? (
              <ActionIcon
                size={14}
                variant="transparent"
                color={labelColor(catalog, label)}
                aria-label={`Remove label ${label}`}
                onClick={(event) => {
                  event.stopPropagation();
                  onRemove(label);
                }}
                disabled={disabled}
              >
                <IconX size={10} />
              </ActionIcon>
            ) : undefined
          }
        >
          {label}
        </Badge>
      ))}
      {hidden.length > 0 && (
        <Tooltip label={hidden.join(", ")}>
          <Badge
            size={size}
            variant="default"
            radius="sm"
            style={{ flexShrink: 0 }}
            aria-label={`${hidden.length} more labels: ${hidden.join(", ")}`}
          >
            +{hidden.length}
          </Badge>
        </Tooltip>
      )}
    </Group>
  );
}

export type LabelPickerProps = {
  labels: string[];
  catalog: LabelOut[] | undefined;
  onChange: (labels: string[]) => void;
  busy?: boolean;
};

/** Adds and removes a conversation's labels; typing a new name creates the label. */
export function LabelPicker({ labels, catalog, onChange, busy }: LabelPickerProps) {
  const [opened, setOpened] = useState(false);
  const [query, setQuery] = useState("");
  const wanted = cleanLabel(query);
  const all = catalog ?? [];
  // Labels on the conversation that the catalogue does not list yet still show, so they can be removed.
  const names = [...all.map((l) => l.label), ...labels.filter((l) => !all.some((c) => c.label === l))];
  const matches = names.filter((name) => !wanted || name.includes(wanted));
  const exists = names.includes(wanted);
  const toggle = (name: string) =>
    onChange(labels.includes(name) ? labels.filter((l) => l !== name) : [...labels, name]);
  const create = () => {
    if (!wanted || wanted.length > 64) return;
    if (!labels.includes(wanted)) onChange([...labels, wanted]);
    setQuery("");
  };
  return (
    <Popover opened={opened} onChange={setOpened} position="bottom-end" withArrow shadow="md" width={260} trapFocus>
      <Popover.Target>
        <Tooltip label="Labels">
          <ActionIcon
            variant={labels.length ? "light" : "subtle"}
            color="gray"
            size="lg"
            aria-label="Labels"
            aria-haspopup="dialog"
            aria-busy={busy || undefined}
            onClick={() => setOpened((o) => !o)}
          >
            <IconTag size={18} />
          </ActionIcon>
        </Tooltip>
      </Popover.Target>
      <Popover.Dropdown>
        <Stack gap="xs">
          <TextInput
            size="xs"
            placeholder="Find or create a label"
            aria-label="Find or create a label"
            value={query}
            maxLength={64}
            onChange={(e) => setQuery(e.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key !== "Enter") return;
              event.preventDefault();
              if (exists) toggle(wanted);
              else if (matches.length === 1 && matches[0]) toggle(matches[0]);
              else create();
            }}
          />
          <ScrollArea.Autosize mah={220} type="auto">
            <Stack gap={6} role="group" aria-label="Labels of this conversation">
              {matches.map((name) => (
                <Checkbox
                  key={name}
                  size="xs"
                  checked={labels.includes(name)}
                  onChange={() => toggle(name)}
                  label={
                    <Group gap={6} wrap="nowrap">
                      <ColorSwatch size={10} color={`var(--mantine-color-${labelColor(catalog, name)}-6)`} aria-hidden />
                      <Text size="xs">{name}</Text>
                    </Group>
                  }
                />
              ))}
              {matches.length === 0 && !wanted && (
                <Text size="xs" c="dimmed">
                  No labels yet: type a name to create one.
                </Text>
              )}
            </Stack>
          </ScrollArea.Autosize>
          {wanted && !exists && (
            <Button size="xs" variant="light" leftSection={<IconPlus size={14} />} onClick={create} disabled={wanted.length > 64}>
              <Box component="span" style={{ overflow: "hidden", textOverflow: "ellipsis" }}>
                Create “{wanted}”
              </Box>
            </Button>
          )}
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
}
