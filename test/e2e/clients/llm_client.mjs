// The official OpenAI and Anthropic SDKs against an LLM route: each SDK's
// baseURL is the gateway, its apiKey the scopegate access token. It runs
// the calls of cfg.ops in order and reports for each what the SDK
// returned — the text, the usage, the model ids — or the error it threw
// (status, the provider-format error fields, the rate-limit headers).
// Retries are off so that a refusal is seen as the gateway answered it.
//
// Config: {openaiBaseURL, anthropicBaseURL, token,
//          ops: [{sdk: "openai"|"anthropic", call, model}]}
// calls: openai chat, chat-stream, responses, responses-stream, embeddings,
//        models; anthropic messages, messages-stream, models.
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { run } from './lib.mjs';

const prompt = 'Say hello to the end-to-end suite.';

async function openaiCall(client, op) {
  switch (op.call) {
    case 'chat': {
      const r = await client.chat.completions.create({ model: op.model, messages: [{ role: 'user', content: prompt }] });
      return { text: r.choices[0].message.content, model: r.model, usage: { input: r.usage.prompt_tokens, output: r.usage.completion_tokens } };
    }
    case 'chat-stream': {
      const stream = await client.chat.completions.create({ model: op.model, messages: [{ role: 'user', content: prompt }], stream: true });
      let text = '';
      let usage;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        text += chunk.choices?.[0]?.delta?.content ?? '';
        if (chunk.usage) {
          usage = { input: chunk.usage.prompt_tokens, output: chunk.usage.completion_tokens };
        }
      }
      return { text, usage, chunks };
    }
    case 'responses': {
      const r = await client.responses.create({ model: op.model, input: prompt });
      return { text: r.output_text, model: r.model, usage: { input: r.usage.input_tokens, output: r.usage.output_tokens } };
    }
    case 'responses-stream': {
      const stream = await client.responses.create({ model: op.model, input: prompt, stream: true });
      let text = '';
      let usage;
      const events = [];
      for await (const ev of stream) {
        events.push(ev.type);
        if (ev.type === 'response.output_text.delta') {
          text += ev.delta;
        }
        if (ev.type === 'response.completed') {
          usage = { input: ev.response.usage.input_tokens, output: ev.response.usage.output_tokens };
        }
      }
      return { text, usage, events };
    }
    case 'embeddings': {
      const r = await client.embeddings.create({ model: op.model, input: prompt });
      return { dimensions: r.data[0].embedding.length, usage: { input: r.usage.prompt_tokens } };
    }
    case 'models': {
      const ids = [];
      for await (const m of client.models.list()) {
        ids.push(m.id);
      }
      return { models: ids };
    }
  }
  throw new Error(`unknown openai call ${op.call}`);
}

async function anthropicCall(client, op) {
  const body = { model: op.model, max_tokens: 100, messages: [{ role: 'user', content: prompt }] };
  switch (op.call) {
    case 'messages': {
      const r = await client.messages.create(body);
      return { text: r.content.map((b) => b.text ?? '').join(''), model: r.model, usage: { input: r.usage.input_tokens, output: r.usage.output_tokens } };
    }
    case 'messages-stream': {
      const stream = await client.messages.create({ ...body, stream: true });
      let text = '';
      const usage = {};
      const events = [];
      for await (const ev of stream) {
        events.push(ev.type);
        if (ev.type === 'message_start') {
          usage.input = ev.message.usage.input_tokens;
        }
        if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') {
          text += ev.delta.text;
        }
        if (ev.type === 'message_delta') {
          usage.output = ev.usage.output_tokens;
        }
      }
      return { text, usage, events };
    }
    case 'models': {
      const ids = [];
      for await (const m of client.models.list()) {
        ids.push(m.id);
      }
      return { models: ids };
    }
  }
  throw new Error(`unknown anthropic call ${op.call}`);
}

// refusal is what an SDK's APIError says: the status, the error body's
// fields in its provider's format, and the rate-limit headers.
function refusal(err) {
  if (typeof err?.status !== 'number') {
    throw err;
  }
  const h = err.headers;
  const get = (k) => (h && typeof h.get === 'function' ? h.get(k) : h?.[k]) ?? undefined;
  return {
    status: err.status,
    errorClass: err.constructor?.name,
    errorType: err.error?.type === 'error' ? err.error?.error?.type : (err.type ?? err.error?.type),
    errorCode: err.code ?? err.error?.code,
    message: err.error?.error?.message ?? err.error?.message ?? err.message,
    retryAfter: get('retry-after'),
    rateLimitRemaining: get('ratelimit-remaining'),
    remainingTokens: get('x-ratelimit-remaining-tokens'),
  };
}

run('llm', async (cfg) => {
  const openai = new OpenAI({ baseURL: cfg.openaiBaseURL, apiKey: cfg.token, maxRetries: 0 });
  const anthropic = new Anthropic({ baseURL: cfg.anthropicBaseURL, apiKey: cfg.token, maxRetries: 0 });
  const results = [];
  for (const op of cfg.ops ?? []) {
    const out = { sdk: op.sdk, call: op.call, model: op.model };
    try {
      Object.assign(out, op.sdk === 'anthropic' ? await anthropicCall(anthropic, op) : await openaiCall(openai, op));
      out.ok = true;
    } catch (err) {
      out.ok = false;
      Object.assign(out, refusal(err));
    }
    results.push(out);
  }
  return { results };
});
