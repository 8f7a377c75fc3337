import { Button, Group, Modal, Select, Stack, Text } from "@mantine/core";
import { DateTimePicker } from "@mantine/dates";
import { notifications } from "@mantine/notifications";
import {
  IconCalendarEvent,
  IconCalendarOff,
  IconPlayerPause,
  IconPlayerPlay,
  IconPlayerStop,
  IconRefresh,
  IconRocket,
  IconTrash,
} from "@tabler/icons-react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useState } from "react";
import { keys } from "../../api/cache";
import {
  campaignAction,
  deleteCampaign,
  retryFailedRecipients,
  type CampaignAction,
  type CampaignOut,
  type CampaignStats,
} from "../../api/resources";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { allowedActions, canRetryFailed, isDraft } from "./model";
import { browserZone, toZoneInput, timeZones } from "./zones";

const DONE: Record<CampaignAction, string> = {
  schedule: "Campaign scheduled.",
  unschedule: "Campaign back to draft.",
  start: "Campaign started: messages are going out.",
  pause: "Campaign paused.",
  resume: "Campaign resumed.",
  cancel: "Campaign cancelled.",
};

/** Pick the start time, in a time zone (the server reads the time in that zone). */
export function ScheduleModal({
  opened,
  onClose,
  campaign,
  onSubmit,
  loading,
  error,
}: {
  opened: boolean;
  onClose: () => void;
  campaign: CampaignOut;
  onSubmit: (scheduledAt: string, timezone: string) => void;
  loading: boolean;
  error?: unknown;
}) {
  const [zone, setZone] = useState(campaign.timezone ?? browserZone());
  const [at, setAt] = useState<string | null>(campaign.scheduledAt ? toZoneInput(campaign.scheduledAt, campaign.timezone ?? browserZone()) : null);
  return (
    <Modal opened={opened} onClose={onClose} title={campaign.status === "scheduled" ? "Move the schedule" : "Schedule the campaign"}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (at) onSubmit(at.replace(" ", "T"), zone);
        }}
      >
        <Stack gap="sm">
          <DateTimePicker
            label="Start at"
            placeholder="Pick a date and time"
            value={at}
            onChange={setAt}
            valueFormat="D MMM YYYY HH:mm"
            required
            clearable
            popoverProps={{ withinPortal: true }}
          />
          <Select
            label="Time zone"
            description="The time above is read in this zone."
            data={timeZones()}
            value={zone}
            onChange={(z) => setZone(z ?? browserZone())}
            searchable
            allowDeselect={false}
          />
          {error ? <ApiErrorAlert error={error} /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={loading} disabled={!at}>
              Schedule
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** The lifecycle buttons the campaign's status allows (the server's transitions), with 422 reasons inline. */
export function CampaignActions({ campaign, stats }: { campaign: CampaignOut; stats?: CampaignStats }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [scheduling, setScheduling] = useState(false);
  const id = campaign.id;

  const refresh = (updated: CampaignOut) => {
    queryClient.setQueryData(keys.campaign(id), updated);
    void queryClient.invalidateQueries({ queryKey: keys.campaignStats(id) });
    void queryClient.invalidateQueries({ queryKey: keys.campaignRecipients(id) });
    void queryClient.invalidateQueries({ queryKey: keys.campaignPreview(id) });
    void queryClient.invalidateQueries({ queryKey: [...keys.campaigns, "list"] });
  };
  const act = useMutation({
    mutationFn: ({ action, schedule }: { action: CampaignAction; schedule?: { scheduledAt: string; timezone: string } }) =>
      campaignAction(id, action, schedule),
    meta: { silent: true },
    onSuccess: (updated, { action }) => {
      refresh(updated);
      setScheduling(false);
      notifications.show({ color: "teal", message: DONE[action] });
    },
  });
  const retry = useMutation({
    mutationFn: () => retryFailedRecipients(id),
    meta: { silent: true },
    onSuccess: (result) => {
      refresh(result.campaign);
      notifications.show({ color: "teal", message: `${result.requeued} failed recipient${result.requeued === 1 ? "" : "s"} queued again.` });
    },
  });
  const remove = useMutation({
    mutationFn: () => deleteCampaign(id),
    meta: { silent: true },
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: keys.campaign(id) });
      void queryClient.invalidateQueries({ queryKey: [...keys.campaigns, "list"] });
      notifications.show({ color: "teal", message: "Draft deleted." });
      void navigate({ to: "/campaigns" });
    },
  });
  const error = act.error ?? retry.error ?? remove.error;
  const busy = act.isPending || retry.isPending || remove.isPending;
  const pending = (action: CampaignAction) => act.isPending && act.variables?.action === action;
  const allowed = allowedActions(campaign.status);
  const failed = (stats ?? campaign).counts.failed ?? 0;
  const retryable = stats ? stats.failuresByCode.some((f) => f.retryable && f.count > 0) : failed > 0;
  const run = (action: CampaignAction) => {
    act.reset();
    retry.reset();
    remove.reset();
    act.mutate({ action });
  };

  return (
    <Stack gap="xs">
      <Group gap="xs" wrap="wrap" aria-label="Campaign actions" role="group">
        {allowed.includes("start") && (
          <Button leftSection={<IconRocket size={16} />} onClick={() => run("start")} loading={pending("start")} disabled={busy}>
            Start now
          </Button>
        )}
        {allowed.includes("resume") && (
          <Button leftSection={<IconPlayerPlay size={16} />} onClick={() => run("resume")} loading={pending("resume")} disabled={busy}>
            Resume
          </Button>
        )}
        {allowed.includes("pause") && (
          <Button variant="light" color="orange" leftSection={<IconPlayerPause size={16} />} onClick={() => run("pause")} loading={pending("pause")} disabled={busy}>
            Pause
          </Button>
        )}
        {allowed.includes("schedule") && (
          <Button variant="light" leftSection={<IconCalendarEvent size={16} />} onClick={() => setScheduling(true)} disabled={busy}>
            {campaign.status === "scheduled" ? "Reschedule" : "Schedule"}
          </Button>
        )}
        {allowed.includes("unschedule") && (
          <Button variant="default" leftSection={<IconCalendarOff size={16} />} onClick={() => run("unschedule")} loading={pending("unschedule")} disabled={busy}>
            Unschedule
          </Button>
        )}
        {canRetryFailed(campaign.status) && failed > 0 && (
          <Button
            variant="light"
            leftSection={<IconRefresh size={16} />}
            onClick={() => {
              act.reset();
              retry.mutate();
            }}
            loading={retry.isPending}
            disabled={busy}
            title={retryable ? "Queue again the recipients whose failure is worth retrying" : "None of the failures is retryable"}
          >
            Retry failed
          </Button>
        )}
        {allowed.includes("cancel") && (
          <Button
            variant="subtle"
            color="red"
            leftSection={<IconPlayerStop size={16} />}
            onClick={() => {
              if (window.confirm(`Cancel “${campaign.name}”? Recipients not sent yet are skipped; this cannot be undone.`)) run("cancel");
            }}
            loading={pending("cancel")}
            disabled={busy}
          >
            Cancel campaign
          </Button>
        )}
        {isDraft(campaign.status) && (
          <Button
            variant="subtle"
            color="red"
            leftSection={<IconTrash size={16} />}
            onClick={() => {
              if (window.confirm(`Delete the draft “${campaign.name}”?`)) remove.mutate();
            }}
            loading={remove.isPending}
            disabled={busy}
          >
            Delete draft
          </Button>
        )}
      </Group>
      {campaign.status === "cancelled" && (
        <Text size="sm" c="dimmed">
          A cancelled campaign stays here with its history; it cannot be restarted.
        </Text>
      )}
      {error && !scheduling ? <ApiErrorAlert error={error} title="The campaign could not be changed" onClose={() => (act.reset(), retry.reset(), remove.reset())} /> : null}
      {scheduling && (
        <ScheduleModal
          opened
          onClose={() => setScheduling(false)}
          campaign={campaign}
          loading={pending("schedule")}
          error={act.variables?.action === "schedule" ? act.error : null}
          onSubmit={(scheduledAt, timezone) => act.mutate({ action: "schedule", schedule: { scheduledAt, timezone } })}
        />
      )}
    </Stack>
  );
}
