// The MCP TypeScript SDK client against an MCP route with tool rules: it
// lists tools, calls the ones named in cfg.call, and reports for each what
// happened — the tool's text, or the error the SDK surfaced — with every
// HTTP exchange (the token requests' scope included), so the harness can see
// the gateway's 403 challenge and the SDK's step-up attempt.
//
// Config: {url, issuer, clientId, clientSecret, scope, call: [{name, arguments}], templates}
// (templates: also list the resource templates)
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { run, step } from './lib.mjs';

run('mcp-tools', async (cfg) => {
  const trace = [];
  const recordingFetch = async (url, init) => {
    const res = await fetch(url, init);
    const u = new URL(typeof url === 'string' ? url : url.href ?? url.url);
    let scope;
    if (init?.body instanceof URLSearchParams) {
      scope = init.body.get('scope') ?? undefined;
    } else if (typeof init?.body === 'string' && u.pathname.endsWith('/token')) {
      scope = new URLSearchParams(init.body).get('scope') ?? undefined;
    }
    trace.push({
      method: init?.method ?? 'GET',
      url: u.origin + u.pathname,
      status: res.status,
      wwwAuthenticate: res.headers.get('www-authenticate') ?? undefined,
      scope,
    });
    return res;
  };
  const provider = new ClientCredentialsProvider({
    clientId: cfg.clientId, clientSecret: cfg.clientSecret, scope: cfg.scope, expectedIssuer: cfg.issuer,
  });
  const transport = new StreamableHTTPClientTransport(new URL(cfg.url), { authProvider: provider, fetch: recordingFetch });
  const mcp = new Client({ name: 'scopegate-e2e-tools', version: '1.0.0' });
  await step('connect', () => mcp.connect(transport));
  try {
    const tools = await step('tools/list', () => mcp.listTools());
    const calls = [];
    for (const c of cfg.call ?? []) {
      try {
        const r = await mcp.callTool({ name: c.name, arguments: c.arguments ?? {} });
        const text = (r.content ?? []).filter((x) => x.type === 'text').map((x) => x.text).join('\n');
        calls.push({ name: c.name, text, isError: r.isError ?? false });
      } catch (err) {
        calls.push({ name: c.name, error: err.message, code: err.code });
      }
    }
    let templates;
    if (cfg.templates) {
      const t = await step('resources/templates/list', () => mcp.listResourceTemplates());
      templates = t.resourceTemplates.map((r) => r.uriTemplate);
    }
    return { tools: tools.tools.map((t) => t.name), calls, templates, trace };
  } finally {
    await mcp.close().catch(() => {});
  }
});
