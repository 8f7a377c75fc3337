import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { renderUi } from "../../test/render";
import { attributeMatches, AttributeFilters } from "./AttributeFilters";

describe("audience attribute filters", () => {
  it("become exact matches by key, leaving out rows without a key", () => {
    expect(attributeMatches([{ key: " city ", value: "Lyon" }, { key: "", value: "ignored" }, { key: "plan", value: "" }])).toEqual({ city: "Lyon", plan: "" });
  });

  it("suggest the attribute keys the contacts use, and accept another", async () => {
    const onChange = vi.fn();
    renderUi(<AttributeFilters filters={[{ key: "", value: "" }]} onChange={onChange} keys={[{ key: "city", count: 12 }, { key: "plan", count: 3 }]} />);
    await userEvent.click(screen.getByLabelText("Attribute 1"));
    const listbox = await screen.findByRole("listbox");
    expect(within(listbox).getByText("city")).toBeInTheDocument();
    expect(within(listbox).getByText("12")).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Attribute 1"), "z");
    expect(onChange).toHaveBeenLastCalledWith([{ key: "z", value: "" }]);
    await userEvent.click(screen.getByRole("button", { name: "Match an attribute" }));
    expect(onChange).toHaveBeenLastCalledWith([{ key: "", value: "" }, { key: "", value: "" }]);
  });
});
