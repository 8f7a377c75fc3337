import { describe, expect, it } from "vitest";
import type { Template } from "../../api/resources";
import { templateFields } from "../../lib/templates";
import { allowedActions, audienceSummary, emptySource, incompleteFields, pauseKind, previewValues, readCsvHead, sampleValues, toMapping } from "./model";

const template = {
  id: "t",
  name: "order_update",
  language: "en_US",
  category: "UTILITY",
  status: "APPROVED",
  wabaId: "1",
  parameterFormat: "POSITIONAL",
  components: [
    { type: "HEADER", format: "TEXT", text: "Order {{1}}" },
    { type: "BODY", text: "Hi {{1}}, your order {{2}} is {{3}}." },
    { type: "BUTTONS", buttons: [{ type: "URL", text: "Track", url: "https://t.example/{{1}}" }] },
  ],
} as unknown as Template;

describe("campaign model", () => {
  const fields = templateFields(template);

  it("builds the parameter mapping the API expects from the form's sources", () => {
    const drafts = {
      "header:1": { ...emptySource("csv"), column: "order" },
      "body:1": { ...emptySource("contact"), field: "firstName", fallback: "there" },
      "body:2": { ...emptySource("csv"), column: "order" },
      "body:3": { ...emptySource("static"), value: "shipped" },
      "button:0:1": { ...emptySource("contact"), field: "attribute", attribute: "tracking" },
    };
    expect(incompleteFields(fields, drafts)).toEqual([]);
    expect(toMapping(fields, drafts)).toEqual({
      header: { "1": { source: "csv", column: "order", fallback: undefined } },
      body: {
        "1": { source: "contact", field: "firstName", fallback: "there" },
        "2": { source: "csv", column: "order", fallback: undefined },
        "3": { source: "static", value: "shipped" },
      },
      buttons: { "0": { "1": { source: "contact", field: "attributes.tracking", fallback: undefined } } },
    });
    expect(incompleteFields(fields, { ...drafts, "body:3": emptySource("static") }).map((f) => f.key)).toEqual(["body:3"]);
  });

  it("previews with fixed values, the CSV's first row and the server's sample recipient", () => {
    const drafts = {
      "header:1": { ...emptySource("csv"), column: "order" },
      "body:1": emptySource("contact"),
      "body:2": { ...emptySource("csv"), column: "order" },
      "body:3": { ...emptySource("static"), value: "shipped" },
      "button:0:1": { ...emptySource("static"), value: "X1" },
    };
    const sample = sampleValues(fields, [
      { type: "header", parameters: [{ type: "text", text: "#1" }] },
      { type: "body", parameters: [{ type: "text", text: "Maria" }, { type: "text", text: "#1" }, { type: "text", text: "shipped" }] },
      { type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: "X1" }] },
    ]);
    expect(sample).toEqual({ "header:1": "#1", "body:1": "Maria", "body:2": "#1", "body:3": "shipped", "button:0:1": "X1" });
    expect(previewValues(fields, drafts, { order: "#77" }, sample)).toEqual({
      "header:1": "#77",
      "body:1": "Maria",
      "body:2": "#77",
      "body:3": "shipped",
      "button:0:1": "X1",
    });
    expect(previewValues(fields, drafts, null, null)["body:1"]).toBe("‹first name›");
  });

  it("reads a CSV file's header, phone column and first row (quotes and semicolons included)", () => {
    expect(readCsvHead('\uFEFFname;Phone;order\n"Garcia; Maria";+1 555 123 4001;"#4521"\n')).toEqual({
      columns: ["name", "Phone", "order"],
      phoneColumn: "Phone",
      firstRow: { name: "Garcia; Maria", Phone: "+1 555 123 4001", order: "#4521" },
    });
    expect(readCsvHead("").columns).toEqual([]);
  });

  it("follows the server's lifecycle and reads pause reasons", () => {
    expect(allowedActions("draft")).toEqual(["schedule", "start", "cancel"]);
    expect(allowedActions("running")).toEqual(["pause", "cancel"]);
    expect(allowedActions("completed")).toEqual([]);
    expect(pauseKind("paused_by_user")).toBe("manual");
    expect(pauseKind("template_not_approved")).toBe("template");
    expect(pauseKind("monthly_quota_used")).toBe("quota");
    expect(pauseKind("phone_number_needs_credentials")).toBe("number");
    expect(pauseKind(null)).toBe("other");
  });
});

describe("the audience preview in words", () => {
  it("names why each left-out row or contact is skipped", () => {
    const preview = { total: 6, eligible: 2, sample: null, mappingProblems: [], skipped: [
      { reason: "invalid_number", count: 1 }, { reason: "duplicate", count: 1 }, { reason: "opted_out", count: 1 }, { reason: "blocked", count: 1 },
    ] };
    expect(audienceSummary(preview)).toBe("2 of 6 will receive it (1 invalid number, 1 duplicate, 1 opted out, 1 blocked).");
    expect(audienceSummary({ ...preview, eligible: 6, skipped: [] })).toBe("6 of 6 will receive it.");
  });
});
