import { Center, Loader, Stack, Text } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { useEffect, useState } from "react";
import { useAuth } from "./auth/AuthProvider";
import { createAppRouter } from "./router";

export function App() {
  const auth = useAuth();
  const queryClient = useQueryClient();
  const [router] = useState(() => createAppRouter({ auth, queryClient }));

  // Route guards read the auth state from the router context: re-run them whenever it changes.
  useEffect(() => {
    router.update({ ...router.options, context: { auth, queryClient } });
    void router.invalidate();
  }, [auth, queryClient, router]);

  if (auth.status === "loading") {
    return (
      <Center h="100dvh">
        <Stack align="center" gap="xs">
          <Loader aria-label="Loading" />
          <Text size="sm" c="dimmed">
            Signing you in…
          </Text>
        </Stack>
      </Center>
    );
  }
  return <RouterProvider router={router} context={{ auth, queryClient }} />;
}
