import { ActionIcon, Autocomplete, Button, Group, Stack, Text, TextInput } from "@mantine/core";
import { IconPlus, IconX } from "@tabler/icons-react";
import type { AttributeKeyCount } from "../../api/resources";

export type AttributeFilter = { key: string; value: string };

/** The audience's `attributes`: every named key must equal its value (rows without a key are ignored). */
export function attributeMatches(filters: AttributeFilter[]): Record<string, string> {
  return Object.fromEntries(filters.filter((f) => f.key.trim()).map((f) => [f.key.trim(), f.value]));
}

/** "Contacts whose attribute … is …" rows; keys in use are suggested, any other can be typed. */
export function AttributeFilters({
  filters,
  onChange,
  keys,
}: {
  filters: AttributeFilter[];
  onChange: (filters: AttributeFilter[]) => void;
  keys: AttributeKeyCount[];
}) {
  const counts = Object.fromEntries(keys.map((k) => [k.key, k.count]));
  const set = (index: number, patch: Partial<AttributeFilter>) => onChange(filters.map((f, i) => (i === index ? { ...f, ...patch } : f)));
  return (
    <Stack gap={6}>
      {filters.map((filter, index) => (
        <Group key={index} gap="xs" align="flex-end" wrap="nowrap">
          <Autocomplete
            size="xs"
            label={index === 0 ? "Attribute" : undefined}
            aria-label={`Attribute ${index + 1}`}
            placeholder="e.g. city"
            data={keys.map((k) => k.key)}
            renderOption={({ option }) => (
              <Group justify="space-between" w="100%" wrap="nowrap">
                <Text size="xs">{option.value}</Text>
                <Text size="xs" c="dimmed">
                  {counts[option.value]}
                </Text>
              </Group>
            )}
            value={filter.key}
            onChange={(key) => set(index, { key })}
            flex={1}
          />
          <TextInput
            size="xs"
            label={index === 0 ? "Equals" : undefined}
            aria-label={`Attribute ${index + 1} value`}
            placeholder="e.g. Lyon"
            value={filter.value}
            onChange={(e) => set(index, { value: e.currentTarget.value })}
            flex={1}
          />
          <ActionIcon variant="subtle" color="gray" aria-label={`Remove attribute ${index + 1}`} onClick={() => onChange(filters.filter((_, i) => i !== index))}>
            <IconX size={14} />
          </ActionIcon>
        </Group>
      ))}
      <Group>
        <Button size="compact-xs" variant="subtle" leftSection={<IconPlus size={12} />} onClick={() => onChange([...filters, { key: "", value: "" }])} disabled={filters.length >= 20}>
          Match an attribute
        </Button>
      </Group>
    </Stack>
  );
}
