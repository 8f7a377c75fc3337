import { Alert, Anchor, Button, PasswordInput, Stack, Text, TextInput } from "@mantine/core";
import { IconAlertCircle, IconClockPause } from "@tabler/icons-react";
import { Link, useNavigate, useSearch } from "@tanstack/react-router";
import { useState, type FormEvent } from "react";
import { ApiError, errorMessage } from "../api/http";
import { useAuth } from "../auth/AuthProvider";
import { AuthCard } from "./AuthCard";

export function LoginPage() {
  const auth = useAuth();
  const navigate = useNavigate();
  const search = useSearch({ from: "/login" });
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await auth.login(email.trim(), password);
      await navigate({ to: search.redirect ?? "/inbox" });
    } catch (cause) {
      setError(cause instanceof Error ? cause : new Error(errorMessage(cause)));
    } finally {
      setBusy(false);
    }
  };

  const throttled = error instanceof ApiError && error.status === 429;
  return (
    <AuthCard title="Sign in" subtitle="Answer your customers on WhatsApp, together.">
      <form onSubmit={submit} noValidate aria-label="Sign in">
        <Stack gap="md">
          {auth.endedReason && !error && (
            <Alert color="yellow" variant="light" role="status">
              {auth.endedReason}
            </Alert>
          )}
          {error && (
            <Alert
              color={throttled ? "orange" : "red"}
              variant="light"
              icon={throttled ? <IconClockPause size={18} /> : <IconAlertCircle size={18} />}
              title={throttled ? "Too many attempts" : "Could not sign in"}
              role="alert"
            >
              {error.message}
              {throttled && error instanceof ApiError && error.retryAfter
                ? ` Try again in ${error.retryAfter} seconds.`
                : null}
            </Alert>
          )}
          <TextInput
            label="Email"
            type="email"
            autoComplete="username"
            placeholder="you@company.com"
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
            required
            autoFocus
          />
          <PasswordInput
            label="Password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            required
          />
          <Button type="submit" loading={busy} disabled={!email || !password} fullWidth size="md">
            Sign in
          </Button>
          <Text size="sm" ta="center" c="dimmed">
            New company?{" "}
            <Anchor component={Link} to="/register">
              Create an account
            </Anchor>
          </Text>
        </Stack>
      </form>
    </AuthCard>
  );
}
