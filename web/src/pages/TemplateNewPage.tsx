import { Button } from "@mantine/core";
import { IconArrowLeft } from "@tabler/icons-react";
import { Link, useNavigate } from "@tanstack/react-router";
import { TemplateBuilder } from "../features/templates/TemplateBuilder";
import { Page } from "./Page";

export function TemplateNewPage() {
  const navigate = useNavigate();
  return (
    <Page
      title="New template"
      description="Design a message template and submit it to WhatsApp for review. Once approved, it can start conversations and campaigns."
      actions={
        <Button component={Link} to="/templates" variant="subtle" leftSection={<IconArrowLeft size={16} />}>
          Templates
        </Button>
      }
    >
      <TemplateBuilder onCreated={() => void navigate({ to: "/templates" })} />
    </Page>
  );
}
