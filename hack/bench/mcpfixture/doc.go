// Package mcpfixture is the MCP traffic of the benchmark harness's item-rule
// targets, shared by the harness (the route's rules, the requests) and the
// upstream baseline (the answers): tools named so that the route's 50 tool
// rules match them in order, a tools/call of about 1 KiB that the last rule
// decides, and a tools/list answer of 200 tools of which the caller may use
// half.
package mcpfixture
