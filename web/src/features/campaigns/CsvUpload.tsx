import { Alert, Badge, Button, FileInput, Group, List, Paper, Select, Stack, Table, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconFileSpreadsheet, IconUpload } from "@tabler/icons-react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { keys } from "../../api/cache";
import { uploadCampaignCsv, type CsvUploadResult } from "../../api/resources";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { plural, readCsvHead, type CsvHead } from "./model";

const HEAD_BYTES = 64 * 1024;

/** The header and first row of a chosen CSV file (read locally; the server reads the whole file). */
export function useCsvHead(file: File | null): { head: CsvHead | null; error: string | null } {
  const [state, setState] = useState<{ file: File | null; head: CsvHead | null; error: string | null }>({ file: null, head: null, error: null });
  useEffect(() => {
    if (!file) return;
    let live = true;
    file
      .slice(0, HEAD_BYTES)
      .text()
      .then((text) => {
        if (!live) return;
        const head = readCsvHead(text);
        setState({ file, head, error: head.columns.length ? null : "The file's first row must name the columns." });
      })
      .catch(() => live && setState({ file, head: null, error: "The file could not be read." }));
    return () => {
      live = false;
    };
  }, [file]);
  return state.file === file && file ? { head: state.head, error: state.error } : { head: null, error: null };
}

/** Choose the file and its phone column (guessed from the header). */
export function CsvPicker({
  file,
  onFile,
  head,
  headError,
  phoneColumn,
  onPhoneColumn,
}: {
  file: File | null;
  onFile: (file: File | null) => void;
  head: CsvHead | null;
  headError: string | null;
  phoneColumn: string | null;
  onPhoneColumn: (column: string | null) => void;
}) {
  return (
    <Stack gap="xs">
      <FileInput
        label="CSV file"
        description="UTF-8, first row names the columns: a phone column (phone, number, wa_id…) and any columns for the placeholders."
        placeholder="Choose a .csv file"
        accept=".csv,text/csv"
        leftSection={<IconFileSpreadsheet size={16} />}
        value={file}
        onChange={onFile}
        clearable
        error={headError}
      />
      {head && head.columns.length > 0 && (
        <Group align="flex-end" gap="sm" wrap="wrap">
          <Select
            label="Phone column"
            data={head.columns}
            value={phoneColumn ?? head.phoneColumn}
            onChange={onPhoneColumn}
            placeholder="Choose the column with the numbers"
            allowDeselect={false}
            w={240}
          />
          <Group gap={4}>
            {head.columns.map((c) => (
              <Badge key={c} variant="light" color="gray" tt="none">
                {c}
              </Badge>
            ))}
          </Group>
        </Group>
      )}
    </Stack>
  );
}

/** What an upload stored: recipients, duplicates, invalid rows (the first ones, with the reason), mapping gaps. */
export function CsvUploadSummary({ result }: { result: CsvUploadResult }) {
  return (
    <Stack gap="xs" data-testid="csv-upload-result">
      <Text size="sm">
        <b>{result.recipients}</b> {plural(result.recipients, "recipient")} from {plural(result.rows, "row", true)} (phone column “{result.phoneColumn}”)
        {result.duplicates > 0 ? ` · ${plural(result.duplicates, "duplicate", true)} left out` : ""}
        {result.invalid > 0 ? ` · ${result.invalid} invalid` : ""}.
      </Text>
      {result.invalidRows.length > 0 && (
        <Table.ScrollContainer minWidth={420}>
          <Table aria-label="Invalid rows" verticalSpacing={4}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Line</Table.Th>
                <Table.Th>Value</Table.Th>
                <Table.Th>Reason</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {result.invalidRows.map((row) => (
                <Table.Tr key={row.line}>
                  <Table.Td>{row.line}</Table.Td>
                  <Table.Td ff="monospace">{row.value || "(empty)"}</Table.Td>
                  <Table.Td>{row.reason}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {result.mappingProblems.length > 0 && (
        <Alert color="orange" variant="light" title="The parameter mapping does not fit this file">
          <List size="sm">
            {result.mappingProblems.map((p) => (
              <List.Item key={p}>{p}</List.Item>
            ))}
          </List>
        </Alert>
      )}
    </Stack>
  );
}

/** Upload (or replace) a draft's CSV audience. */
export function CsvUploadCard({ campaignId, upload }: { campaignId: string; upload: Record<string, unknown> | null }) {
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [phoneColumn, setPhoneColumn] = useState<string | null>(null);
  const { head, error: headError } = useCsvHead(file);
  const send = useMutation({
    mutationFn: () => uploadCampaignCsv(campaignId, file as File, phoneColumn ?? head?.phoneColumn),
    meta: { silent: true },
    onSuccess: (result) => {
      void queryClient.invalidateQueries({ queryKey: keys.campaign(campaignId) });
      void queryClient.invalidateQueries({ queryKey: keys.campaignPreview(campaignId) });
      void queryClient.invalidateQueries({ queryKey: keys.campaignRecipients(campaignId) });
      notifications.show({ color: "teal", message: `${plural(result.recipients, "recipient", true)} uploaded.` });
      setFile(null);
    },
  });
  const stored = upload as { rows?: number; recipients?: number; invalid?: number; duplicates?: number; columns?: string[]; uploadedAt?: string } | null;
  return (
    <Paper withBorder radius="md" p="md">
      <Stack gap="sm">
        <Title order={2} size="h5">
          CSV audience
        </Title>
        {stored?.recipients != null ? (
          <Text size="sm">
            Current upload: <b>{stored.recipients}</b> {plural(stored.recipients, "recipient")} from {plural(stored.rows ?? 0, "row", true)}
            {stored.duplicates ? `, ${plural(stored.duplicates, "duplicate", true)}` : ""}
            {stored.invalid ? `, ${stored.invalid} invalid` : ""}
            {stored.columns?.length ? ` · columns: ${stored.columns.join(", ")}` : ""}.
          </Text>
        ) : (
          <Text size="sm" c="dimmed">
            No file uploaded yet: the campaign cannot start until one is.
          </Text>
        )}
        <CsvPicker
          file={file}
          onFile={(f) => {
            setFile(f);
            setPhoneColumn(null);
            send.reset();
          }}
          head={head}
          headError={headError}
          phoneColumn={phoneColumn}
          onPhoneColumn={setPhoneColumn}
        />
        <Group>
          <Button leftSection={<IconUpload size={16} />} onClick={() => send.mutate()} disabled={!file || !head || Boolean(headError)} loading={send.isPending}>
            {stored?.recipients != null ? "Replace the audience" : "Upload"}
          </Button>
        </Group>
        {send.error ? <ApiErrorAlert error={send.error} title="The file was not accepted" /> : null}
        {send.data && <CsvUploadSummary result={send.data} />}
      </Stack>
    </Paper>
  );
}
