// Test-only (excluded from the build): one LangChain message of every kind, with every field.
import { AIMessage, ChatMessage, FunctionMessage, HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";

export function everyKindOfMessage(): BaseMessage[] {
  return [
    new SystemMessage({ content: "You are terse.", id: "s-1" }),
    new HumanMessage({ content: "What's the weather in Paris?", id: "h-1", name: "ana", additional_kwargs: { lang: "en" } }),
    new AIMessage({
      content: "",
      id: "a-1",
      tool_calls: [{ id: "call_1", name: "weather", args: { city: "Paris", days: 2, units: ["C"] }, type: "tool_call" }],
      invalid_tool_calls: [{ id: "call_2", name: "oops", args: "{not json", error: "bad json", type: "invalid_tool_call" }],
      additional_kwargs: { refusal: null, provider: { seed: 7 } },
      response_metadata: { model_name: "fake-1", finish_reason: "tool_calls", logprobs: [-0.5, -1] },
      usage_metadata: { input_tokens: 12, output_tokens: 5, total_tokens: 17 },
    }),
    new ToolMessage({ content: '{"temp": 21}', tool_call_id: "call_1", name: "weather", artifact: { raw: [1, 2, 3] }, status: "success" }),
    new FunctionMessage({ content: "legacy result", name: "legacy_fn" }),
    new HumanMessage({
      content: [
        { type: "text", text: "And this picture?" },
        { type: "image_url", image_url: { url: "https://example.com/p.png", detail: "low" } },
      ],
    }),
    new AIMessage({ content: [{ type: "text", text: "A cat." }], response_metadata: {} }),
    new ChatMessage({ content: "generic role", role: "critic" }),
  ];
}
