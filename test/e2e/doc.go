// Package e2e is scopegate's end-to-end suite: it starts a local control
// plane (internal/devcluster) and the built bin/scopegate binary as a separate
// process on free ports, and drives it only from outside with real
// third-party clients — kubectl, golang.org/x/oauth2, openid-client,
// oauth4webapi, jose, the MCP TypeScript SDK (against
// @modelcontextprotocol/server-everything) and the A2A JavaScript SDK.
//
// Run it with `make test-e2e`, which builds the binary and installs the
// Node.js clients (npm ci in this directory) first.
package e2e
