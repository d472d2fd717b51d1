// A small MCP server built with @modelcontextprotocol/sdk (streamable HTTP,
// stateless): three tools — echo, add and the write-like delete_note — and
// two resource templates, notes://public/{id} and notes://private/{id}. It is the upstream of the MCP route whose tool rules the suite
// checks (TestMCPToolRules).
//
// Env: PORT (required). Prints "listening <port>" on stdout when ready.
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { z } from 'zod';

const port = Number(process.env.PORT);
if (!port) {
  console.error('mcp_tools_server: PORT is required');
  process.exit(2);
}

function server() {
  const s = new McpServer({ name: 'scopegate-e2e-tools', version: '1.0.0' });
  s.registerTool('echo', { description: 'Echoes a message.', inputSchema: { message: z.string() } },
    async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
  s.registerTool('add', { description: 'Adds two numbers.', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }));
  s.registerTool('delete_note', { description: 'Deletes a note (write-like).', inputSchema: { id: z.string() } },
    async ({ id }) => ({ content: [{ type: 'text', text: `deleted ${id}` }] }));
  for (const kind of ['public', 'private']) {
    s.registerResource(`${kind}-note`, new ResourceTemplate(`notes://${kind}/{id}`, { list: undefined }),
      { description: `A ${kind} note.` },
      async (uri, { id }) => ({ contents: [{ uri: uri.href, text: `${kind} note ${id}` }] }));
  }
  return s;
}

const app = createMcpExpressApp();
app.post('/mcp', async (req, res) => {
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  const s = server();
  res.on('close', () => { transport.close(); s.close(); });
  await s.connect(transport);
  await transport.handleRequest(req, res, req.body);
});
app.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
