// The MCP TypeScript SDK client with its client-credentials auth provider.
// It starts from the bare gateway URL of an MCP route and must find its way on
// its own: 401 → protected-resource metadata (RFC 9728) → authorization-server
// metadata (RFC 8414) → token → retry; then it lists tools and calls echo.
//
// Config: {url, issuer, clientId, clientSecret | assertion, scope, expect: "ok"|"insufficient_scope", message?}
//   assertion: a projected ServiceAccount token, sent as an RFC 7523 client
//   assertion by the SDK's StaticPrivateKeyJwtProvider instead of a secret.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider, StaticPrivateKeyJwtProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { run, step, check } from './lib.mjs';

run('mcp-sdk', async (cfg) => {
  // Every HTTP exchange, so the harness can check the discovery sequence.
  const trace = [];
  const recordingFetch = async (url, init) => {
    const res = await fetch(url, init);
    const u = new URL(typeof url === 'string' ? url : url.href ?? url.url);
    trace.push({
      method: init?.method ?? 'GET',
      url: u.origin + u.pathname,
      status: res.status,
      wwwAuthenticate: res.headers.get('www-authenticate') ?? undefined,
    });
    return res;
  };
  const provider = cfg.assertion
    ? new StaticPrivateKeyJwtProvider({
      clientId: cfg.clientId,
      jwtBearerAssertion: cfg.assertion,
      scope: cfg.scope,
      expectedIssuer: cfg.issuer,
    })
    : new ClientCredentialsProvider({
      clientId: cfg.clientId,
      clientSecret: cfg.clientSecret,
      scope: cfg.scope,
      expectedIssuer: cfg.issuer,
    });
  const transport = new StreamableHTTPClientTransport(new URL(cfg.url), { authProvider: provider, fetch: recordingFetch });
  const mcp = new Client({ name: 'scopegate-e2e', version: '1.0.0' });

  if (cfg.expect === 'insufficient_scope') {
    let failure;
    try {
      await mcp.connect(transport);
    } catch (err) {
      failure = err;
    }
    check('connect', failure !== undefined, 'a client without the required scope connected', trace);
    const last = [...trace].reverse().find((t) => t.url === new URL(cfg.url).origin + new URL(cfg.url).pathname);
    check('connect', last && last.status === 403 && /error="insufficient_scope"/.test(last.wwwAuthenticate ?? ''),
      `last answer of the MCP endpoint was ${JSON.stringify(last)}, want 403 insufficient_scope`, trace);
    return { refused: true, error: failure.message, code: failure.code, last, trace, grantedScope: provider.tokens()?.scope };
  }

  await step('connect', () => mcp.connect(transport));
  try {
    const tools = await step('tools/list', () => mcp.listTools());
    const names = tools.tools.map((t) => t.name);
    check('tools/list', names.includes('echo'), `tools ${names.join(',')} lack echo`);
    const message = cfg.message ?? 'hello through scopegate';
    const result = await step('tools/call echo', () => mcp.callTool({ name: 'echo', arguments: { message } }));
    const text = (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
    check('tools/call echo', text.includes(message), `echo answered ${JSON.stringify(result)}`);
    return { tools: names, echo: text, sessionId: transport.sessionId, trace, grantedScope: provider.tokens()?.scope };
  } finally {
    await transport.terminateSession().catch(() => {});
    await mcp.close().catch(() => {});
  }
});
