import { Alert, Anchor, Button, PasswordInput, Stack, Text, TextInput } from "@mantine/core";
import { IconAlertCircle } from "@tabler/icons-react";
import { Link, useNavigate } from "@tanstack/react-router";
import { useState, type FormEvent } from "react";
import { errorMessage } from "../api/http";
import { useAuth } from "../auth/AuthProvider";
import { AuthCard } from "./AuthCard";

export function RegisterPage() {
  const auth = useAuth();
  const navigate = useNavigate();
  const [form, setForm] = useState({ companyName: "", name: "", email: "", password: "" });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (field: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => {
    const value = e.currentTarget.value; // React clears currentTarget before the updater runs
    setForm((f) => ({ ...f, [field]: value }));
  };
  const short = form.password.length > 0 && form.password.length < 10;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await auth.register({ ...form, email: form.email.trim() });
      await navigate({ to: "/settings", search: { tab: "numbers" } });
    } catch (cause) {
      setError(errorMessage(cause));
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthCard title="Create your company" subtitle="You will be its first administrator; invite your agents next.">
      <form onSubmit={submit} noValidate aria-label="Register">
        <Stack gap="md">
          {error && (
            <Alert color="red" variant="light" icon={<IconAlertCircle size={18} />} title="Could not register" role="alert">
              {error}
            </Alert>
          )}
          <TextInput label="Company name" value={form.companyName} onChange={set("companyName")} required autoFocus autoComplete="organization" />
          <TextInput label="Your name" value={form.name} onChange={set("name")} required autoComplete="name" />
          <TextInput label="Email" type="email" value={form.email} onChange={set("email")} required autoComplete="email" />
          <PasswordInput
            label="Password"
            description="At least 10 characters; common passwords are refused."
            value={form.password}
            onChange={set("password")}
            error={short ? "Use at least 10 characters." : undefined}
            required
            autoComplete="new-password"
          />
          <Button
            type="submit"
            loading={busy}
            disabled={!form.companyName || !form.name || !form.email || form.password.length < 10}
            fullWidth
            size="md"
          >
            Create account
          </Button>
          <Text size="sm" ta="center" c="dimmed">
            Already have an account?{" "}
            <Anchor component={Link} to="/login">
              Sign in
            </Anchor>
          </Text>
        </Stack>
      </form>
    </AuthCard>
  );
}
