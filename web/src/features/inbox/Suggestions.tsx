import { Avatar, Box, Group, Paper, Text, UnstyledButton } from "@mantine/core";
import type { ReactNode } from "react";

export type Suggestion = { key: string; primary: ReactNode; secondary?: ReactNode; avatar?: string; label: string };

export type SuggestionsProps = {
  id: string;
  title: string;
  items: Suggestion[];
  active: number;
  onChoose: (index: number) => void;
  onHover: (index: number) => void;
};

export const optionId = (listId: string, index: number) => `${listId}-option-${index}`;

/**
 * The list under the caret's word (`/code`, `@name`). The text box keeps the focus and drives it with the
 * arrow keys, Enter or Tab (aria-activedescendant), so typing never stops.
 */
export function Suggestions({ id, title, items, active, onChoose, onHover }: SuggestionsProps) {
  return (
    <Paper withBorder shadow="sm" radius="md" p={4} className="composer-suggestions" data-testid="composer-suggestions">
      <Text size="xs" c="dimmed" px={6} pt={2} pb={4}>
        {title}
      </Text>
      <Box role="listbox" id={id} aria-label={title}>
        {items.map((item, index) => (
          <UnstyledButton
            key={item.key}
            id={optionId(id, index)}
            role="option"
            aria-selected={index === active}
            aria-label={item.label}
            tabIndex={-1}
            className="composer-suggestion"
            data-active={index === active || undefined}
            // Keep the focus (and the caret) in the text box.
            onMouseDown={(event) => event.preventDefault()}
            onMouseEnter={() => onHover(index)}
            onClick={() => onChoose(index)}
          >
            <Group gap="xs" wrap="nowrap">
              {item.avatar !== undefined && (
                <Avatar size={24} radius="xl" color="teal" aria-hidden>
                  {item.avatar}
                </Avatar>
              )}
              <Box style={{ minWidth: 0 }}>
                <Text size="sm" fw={500} truncate="end">
                  {item.primary}
                </Text>
                {item.secondary && (
                  <Text size="xs" c="dimmed" truncate="end">
                    {item.secondary}
                  </Text>
                )}
              </Box>
            </Group>
          </UnstyledButton>
        ))}
      </Box>
    </Paper>
  );
}
