import { Alert, List } from "@mantine/core";
import { IconAlertTriangle } from "@tabler/icons-react";
import { ApiError, errorMessage } from "../api/http";

/** The problems the API listed with a 422 (`details.problems`), when it did. */
export function errorProblems(error: unknown): string[] {
  if (!(error instanceof ApiError)) return [];
  const problems = (error.details as { problems?: unknown } | null)?.problems;
  return Array.isArray(problems) ? problems.filter((p): p is string => typeof p === "string") : [];
}

/** An API error shown where it happened, with the API's own message (and its list of problems, if any). */
export function ApiErrorAlert({ error, title, onClose }: { error: unknown; title?: string; onClose?: () => void }) {
  if (!error) return null;
  const message = errorMessage(error);
  // Problems the message itself already names are not listed twice.
  const problems = errorProblems(error).filter((p) => !message.includes(p));
  return (
    <Alert
      color="red"
      variant="light"
      icon={<IconAlertTriangle size={18} />}
      title={title}
      withCloseButton={Boolean(onClose)}
      onClose={onClose}
      closeButtonLabel="Dismiss"
      role="alert"
    >
      {message}
      {problems.length > 0 && (
        <List size="sm" mt={4}>
          {problems.map((p) => (
            <List.Item key={p}>{p}</List.Item>
          ))}
        </List>
      )}
    </Alert>
  );
}
