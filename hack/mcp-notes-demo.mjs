// The MCP TypeScript SDK (@modelcontextprotocol/sdk, from test/e2e's
// node_modules: run `npm ci` there first) as a client of make run's notes
// route, for the README's "Governing MCP tools": it lists the tools, calls
// list_notes, then delete_note, and prints what the SDK surfaced, with the
// status and WWW-Authenticate of any refusal.
//
// Usage: NODE_EXTRA_CA_CERTS=bin/dev/ca.crt node hack/mcp-notes-demo.mjs <token> [url]
import { Client } from '../test/e2e/node_modules/@modelcontextprotocol/sdk/dist/esm/client/index.js';
import { StreamableHTTPClientTransport } from '../test/e2e/node_modules/@modelcontextprotocol/sdk/dist/esm/client/streamableHttp.js';

const [token, url = 'https://localhost:8000/mcp/notes'] = process.argv.slice(2);
if (!token) {
  console.error('usage: node hack/mcp-notes-demo.mjs <token> [url]');
  process.exit(2);
}
const showRefusals = async (input, init) => {
  const res = await fetch(input, init);
  if (res.status === 401 || res.status === 403) {
    console.log(`HTTP ${res.status}, WWW-Authenticate: ${res.headers.get('www-authenticate')}`);
  }
  return res;
};
const client = new Client({ name: 'notes-demo', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
  fetch: showRefusals,
}));
const { tools } = await client.listTools();
console.log('listTools:', tools.map((t) => t.name).join(', '));
const listed = await client.callTool({ name: 'list_notes', arguments: {} });
console.log('callTool list_notes:', JSON.stringify(listed.content[0].text));
try {
  await client.callTool({ name: 'delete_note', arguments: { id: 'note-1' } });
} catch (err) {
  console.log('callTool delete_note:', err.message);
}
await client.close();
