import { Badge, Group, Text, Tooltip } from "@mantine/core";
import type { CampaignOut } from "../../api/resources";
import { CAMPAIGN_STATUS_COLOR } from "./model";

/** The status, with why a paused campaign stopped or why a running one is holding back on hover. */
export function CampaignStatusBadge({ campaign }: { campaign: Pick<CampaignOut, "status" | "pausedReason" | "waitingReason"> }) {
  const badge = (
    <Badge color={CAMPAIGN_STATUS_COLOR[campaign.status]} variant={campaign.status === "running" ? "filled" : "light"} data-testid="campaign-status">
      {campaign.status}
    </Badge>
  );
  const why = campaign.status === "paused" ? campaign.pausedReason : campaign.status === "running" ? campaign.waitingReason : null;
  return why ? (
    <Tooltip label={why} multiline maw={320}>
      <Group gap={4} wrap="nowrap">
        {badge}
        <Text size="xs" c={campaign.status === "paused" ? "orange" : "yellow.7"} fw={600}>
          {campaign.status === "paused" ? "why?" : "waiting"}
        </Text>
      </Group>
    </Tooltip>
  ) : (
    badge
  );
}
