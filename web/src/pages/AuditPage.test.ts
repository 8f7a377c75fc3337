import { describe, expect, it } from "vitest";
import { actionOptions } from "./AuditPage";

describe("the audit action filter", () => {
  it("offers each area of the server's catalogue as a prefix, then every action", () => {
    const [areas, actions] = actionOptions(["api_key.created", "api_key.revoked", "auth.login", "survey.sent"]);
    expect(areas?.items).toEqual([
      { value: "api_key.", label: "API keys (api_key.)" },
      { value: "auth.", label: "Sign-ins (auth.)" },
      { value: "survey.", label: "survey." },
    ]);
    expect(actions?.items.map((i) => i.value)).toEqual(["api_key.created", "api_key.revoked", "auth.login", "survey.sent"]);
  });

  it("is empty until the catalogue has loaded", () => {
    expect(actionOptions([]).flatMap((g) => g.items)).toEqual([]);
  });
});
