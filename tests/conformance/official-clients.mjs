// Drives a running StreamIngest host with the official TypeScript clients, as a user's app or agent would, and
// asserts what the user sees through them. Prints one JSON line per check; exits 1 when any check fails.
// Environment: BASE_URL (the host), KEY (scopes search and ground), SEARCH_KEY (scope search only).
import OpenAI from "openai";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const base = process.env.BASE_URL;
const key = process.env.KEY;
const searchKey = process.env.SEARCH_KEY;
const question = "Is the Riverton flood real, and which streets are under water?";
let failed = 0;

async function check(name, fn) {
  try {
    const detail = await fn();
    console.log(JSON.stringify({ check: name, ok: true, detail }));
  } catch (error) {
    failed++;
    console.log(JSON.stringify({ check: name, ok: false, error: String(error?.stack ?? error) }));
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
const weather = {
  type: "function",
  function: { name: "get_weather", description: "The current weather in a city.", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
};

/** Runs a chat request that must fail, and asserts the error class the SDK raised and the text it shows. */
async function expectChatError(client, extra, ErrorClass, text) {
  try {
    await client.chat.completions.create({ model: "streamingest", messages: [{ role: "user", content: question }], ...extra });
  } catch (error) {
    assert(error instanceof ErrorClass, `expected ${ErrorClass.name}, got ${error?.constructor?.name}: ${error}`);
    assert(error.message.includes(text), `message was: ${error.message}`);
    return error;
  }
  throw new Error("no error");
}

await check("openai: a bad field is an error whose message and param the SDK shows", async () => {
  const error = await expectChatError(openai, { temperature: "hot" }, OpenAI.BadRequestError, "'temperature' must be a number");
  assert(error.param === "temperature", `param was ${error.param}`);
  return error.message;
});

await check("openai: an unknown key is a 401 the SDK names", async () => {
  const stranger = new OpenAI({ baseURL: `${base}/v1`, apiKey: "si_not-a-key", maxRetries: 0 });
  return (await expectChatError(stranger, {}, OpenAI.AuthenticationError, "The API key is not valid")).message;
});

await check("openai: a search-only key asking for chat is a 403 naming the scope", async () => {
  const searcher = new OpenAI({ baseURL: `${base}/v1`, apiKey: searchKey, maxRetries: 0 });
  return (await expectChatError(searcher, {}, OpenAI.PermissionDeniedError, "'ground' scope")).message;
});

await check("openai: models lists what may be asked for", async () => {
  const ids = [];
  for await (const model of openai.models.list()) ids.push(model.id);
  assert(ids.includes("streamingest"), `models: ${ids}`);
  return ids;
});

await check("openai: an agent loop, user -> tool_calls -> tool result -> cited answer", async () => {
  const messages = [{ role: "user", content: question }];
  const first = await openai.chat.completions.create({ model: "streamingest", messages, tools: [weather], tool_choice: "auto" });
  const call = first.choices[0].message.tool_calls?.[0];
  assert(first.choices[0].finish_reason === "tool_calls" && call?.function?.name === "get_weather", `first answer: ${JSON.stringify(first.choices[0])}`);
  messages.push(first.choices[0].message);
  messages.push({ role: "tool", tool_call_id: call.id, content: "Heavy rain, 40 mm in the last hour." });
  const answer = await openai.chat.completions.create({ model: "streamingest", messages, tools: [weather] });
  assert(answer.choices[0].message.content.includes("[1]"), `answer: ${answer.choices[0].message.content}`);
  assert(answer.citations?.some((c) => c.index === 1 && c.cited), `citations: ${JSON.stringify(answer.citations)}`);
  return { tool_call: call, answer: answer.choices[0].message.content, citations: answer.citations.length };
});

await check("openai: a streamed tool call arrives as deltas the SDK assembles", async () => {
  const stream = await openai.chat.completions.create({ model: "streamingest", messages: [{ role: "user", content: question }], tools: [weather], stream: true });
  let name = "", args = "", finish = null;
  for await (const chunk of stream) {
    for (const part of chunk.choices[0]?.delta?.tool_calls ?? []) {
      name += part.function?.name ?? "";
      args += part.function?.arguments ?? "";
    }
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert(name === "get_weather" && JSON.parse(args).city === "Riverton" && finish === "tool_calls", `${name} ${args} ${finish}`);
  return { name, args };
});

async function mcp(withKey) {
  const client = new Client({ name: "conformance", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${withKey}` } } }));
  return client;
}

await check("mcp: tools listed with input schemas", async () => {
  const client = await mcp(key);
  const { tools } = await client.listTools();
  await client.close();
  assert(tools.some((t) => t.name === "search_posts" && t.inputSchema?.properties?.query), JSON.stringify(tools.map((t) => t.name)));
  return tools.map((t) => t.name);
});

await check("mcp: a search-only key calling ground_question is refused, naming the scope", async () => {
  const client = await mcp(searchKey);
  const result = await client.callTool({ name: "ground_question", arguments: { question } });
  await client.close();
  const text = result.content.map((c) => c.text).join("");
  assert(result.isError === true && text.includes("needs the 'ground' scope"), text);
  return text;
});

await check("mcp: an argument error names the argument", async () => {
  const client = await mcp(key);
  const result = await client.callTool({ name: "search_posts", arguments: { query: "flood", k: "ten" } });
  await client.close();
  const text = result.content.map((c) => c.text).join("");
  assert(result.isError === true && text.includes("'k' must be integer"), text);
  return text;
});

await check("mcp: search, then read the post by tool and by resource, structured content as the text", async () => {
  const client = await mcp(key);
  const found = await client.callTool({ name: "search_posts", arguments: { query: "river flooding downtown", k: 3, window: "P30D" } });
  const first = JSON.parse(found.content[0].text).results[0];
  const post = await client.callTool({ name: "get_post", arguments: { id: first.id } });
  const resource = await client.readResource({ uri: `streamingest://posts/${encodeURIComponent(first.id)}` });
  await client.close();
  assert(found.structuredContent?.results?.[0]?.id === first.id, "structuredContent differs from the text");
  assert(JSON.parse(post.content[0].text).id === first.id, "get_post returned another post");
  assert(JSON.parse(resource.contents[0].text).id === first.id, "the post resource returned another post");
  return first.id;
});

process.exit(failed === 0 ? 0 : 1);
