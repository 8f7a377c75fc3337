import { describe, expect, it } from "vitest";
import { draftComponents, emptyDraft, fieldOfPath, newButton, parameterFormat, validateDraft, type TemplateDraft } from "./builder";

function draft(overrides: Partial<TemplateDraft>): TemplateDraft {
  return { ...emptyDraft(), name: "order_update", ...overrides };
}

describe("template builder model", () => {
  it("builds Meta's components: text header example, URL suffix example, copy code", () => {
    const url = { ...newButton("URL"), text: "Track", url: "https://shop.example.com/t/{{1}}", urlExample: "AB12" };
    const code = { ...newButton("COPY_CODE"), code: "SPRING25" };
    const components = draftComponents(
      draft({ headerKind: "TEXT", headerText: "Order {{1}}", body: "Hi {{1}}, see {{2}} now.", examples: { "header:1": "#42", "body:1": "Ana", "body:2": "this" }, buttons: [url, code] }),
    );
    expect(components).toEqual([
      { type: "HEADER", format: "TEXT", text: "Order {{1}}", example: { header_text: ["#42"] } },
      { type: "BODY", text: "Hi {{1}}, see {{2}} now.", example: { body_text: [["Ana", "this"]] } },
      {
        type: "BUTTONS",
        buttons: [
          { type: "URL", text: "Track", url: "https://shop.example.com/t/{{1}}", example: ["https://shop.example.com/t/AB12"] },
          { type: "COPY_CODE", example: "SPRING25" },
        ],
      },
    ]);
  });

  it("uses named parameters when the text names them", () => {
    const named = draft({ body: "Hi {{first_name}}, thanks.", examples: { "body:first_name": "Ana" } });
    expect(parameterFormat(named)).toBe("NAMED");
    expect(draftComponents(named)[0]).toEqual({
      type: "BODY",
      text: "Hi {{first_name}}, thanks.",
      example: { body_text_named_params: [{ param_name: "first_name", example: "Ana" }] },
    });
  });

  it("finds what Meta refuses: gaps, limits, too many buttons", () => {
    const fields = (d: TemplateDraft) => validateDraft(d).map((p) => p.field);
    expect(fields(draft({ body: "Hi {{1}} and {{3}} today.", examples: { "body:1": "a", "body:3": "b" } }))).toContain("body.text");
    expect(fields(draft({ body: "Hello", footer: "f".repeat(61) }))).toEqual(["footer.text"]);
    const quick = Array.from({ length: 11 }, (_, i) => ({ ...newButton("QUICK_REPLY"), text: `Option ${i}` }));
    expect(fields(draft({ body: "Hello", buttons: quick }))).toEqual(["buttons"]);
    expect(fields(draft({ body: "Hello", buttons: [{ ...newButton("QUICK_REPLY"), text: "x".repeat(26) }] }))).toEqual(["button.0.text"]);
  });

  it("places the API's problems on the builder's fields", () => {
    const components = draftComponents(draft({ headerKind: "IMAGE", headerHandle: "4::x", body: "Hello", buttons: [newButton("PHONE_NUMBER")] }));
    expect(fieldOfPath("name", components)).toBe("name");
    expect(fieldOfPath("components[0].example.header_handle", components)).toBe("header.handle");
    expect(fieldOfPath("components[1].text", components)).toBe("body.text");
    expect(fieldOfPath("components[2].buttons[0].phone_number", components)).toBe("button.0.phone");
    expect(fieldOfPath("components[2].buttons", components)).toBe("buttons");
    expect(fieldOfPath("components", components)).toBeNull();
  });
});
