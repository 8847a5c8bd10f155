// One AI SDK scenario against a gateway: node compat.mjs SCENARIO BASE_URL MODEL.
// Prints one JSON object on stdout (what the SDK handed back, or the error it
// raised); tests/contract/compat/test_ai_sdk.py asserts on it.
import { createOpenAI } from "@ai-sdk/openai";
import { APICallError, generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";

const [scenario, baseURL, model] = process.argv.slice(2);
const provider = createOpenAI({ baseURL, apiKey: "sk-client-not-checked" });

const weather = tool({
  description: "The weather in a city.",
  inputSchema: jsonSchema({
    type: "object",
    properties: { city: { type: "string", description: "The city." } },
    required: ["city"],
    additionalProperties: false,
  }),
  execute: async ({ city }) => {
    calls.push(city);
    return "21 degrees and sunny";
  },
});
const calls = [];

async function whole(chosen, options = {}) {
  const result = await generateText({ model: chosen, prompt: "hi", ...options });
  return { text: result.text, usage: result.usage, finishReason: result.finishReason, calls };
}

async function streamed(chosen, options = {}) {
  const result = streamText({
    model: chosen,
    prompt: "hi",
    ...options,
    onError: ({ error }) => {
      throw error;
    },
  });
  const deltas = [];
  for await (const delta of result.textStream) deltas.push(delta);
  return { text: deltas.join(""), deltas, usage: await result.usage, calls };
}

const scenarios = {
  chat: () => whole(provider.chat(model)),
  "chat-stream": () => streamed(provider.chat(model)),
  tools: () => whole(provider.chat(model), { tools: { get_weather: weather }, stopWhen: stepCountIs(3) }),
  responses: () => whole(provider(model)),
  "responses-stream": () => streamed(provider(model)),
  "responses-tools": () => whole(provider(model), { tools: { get_weather: weather }, stopWhen: stepCountIs(3) }),
  // No retries: the error's isRetryable says whether the SDK would have retried.
  error: () => whole(provider.chat(model), { maxRetries: 0 }),
};

try {
  const run = scenarios[scenario];
  if (run === undefined) throw new Error(`unknown scenario ${scenario}`);
  console.log(JSON.stringify({ ok: true, ...(await run()) }));
} catch (error) {
  const found = APICallError.isInstance(error) ? error : error?.lastError ?? error?.cause ?? error;
  console.log(
    JSON.stringify({
      ok: false,
      name: error?.name,
      apiCallError: APICallError.isInstance(found),
      statusCode: found?.statusCode,
      isRetryable: found?.isRetryable,
      data: found?.data,
      message: String(found?.message ?? error),
    }),
  );
}
