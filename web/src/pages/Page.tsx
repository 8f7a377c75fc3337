import { Box, Group, Stack, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";

export function Page({ title, description, actions, children, maw = 1100 }: { title: string; description?: string; actions?: ReactNode; children: ReactNode; maw?: number }) {
  return (
    <Box className="page">
      <Stack gap="lg" p={{ base: "md", sm: "xl" }} maw={maw} mx="auto">
        <Group justify="space-between" align="flex-end" wrap="wrap" gap="sm">
          <Stack gap={2}>
            <Title order={1} size="h2">
              {title}
            </Title>
            {description && (
              <Text c="dimmed" size="sm">
                {description}
              </Text>
            )}
          </Stack>
          {actions}
        </Group>
        {children}
      </Stack>
    </Box>
  );
}
