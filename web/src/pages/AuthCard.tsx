import { Box, Center, Group, Paper, Stack, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";

export function AuthCard({ title, subtitle, children }: { title: string; subtitle: string; children: ReactNode }) {
  return (
    <Center mih="100dvh" p="md" className="auth-background">
      <Box w="100%" maw={420}>
        <Group justify="center" gap={10} mb="lg">
          <img src="/favicon.svg" alt="" width={40} height={40} />
          <Text fw={800} size="xl">
            wadesk
          </Text>
        </Group>
        <Paper withBorder shadow="md" p="xl" radius="lg">
          <Stack gap={4} mb="lg">
            <Title order={2} size="h3">
              {title}
            </Title>
            <Text c="dimmed" size="sm">
              {subtitle}
            </Text>
          </Stack>
          {children}
        </Paper>
      </Box>
    </Center>
  );
}
