package gateway

import (
	"slices"
	"strings"

	"github.com/scopegate/scopegate/internal/jsonrpc"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/scope"
)

// ItemPolicy governs the items of an MCP route (tools, prompts, resources)
// or the JSON-RPC methods of an A2A route (GatewayRoute spec.mcp,
// spec.a2a). A route without one is governed as opaque HTTP: the gateway
// never reads its request bodies.
type ItemPolicy struct {
	// Rules are tried in order; the first that names an item decides it.
	Rules []ItemRule
	// DenyUnlisted refuses an item no rule names; otherwise the route's
	// scopes suffice for it.
	DenyUnlisted bool
	// Hide answers a refused MCP item as an unknown one (HTTP 200 and the
	// JSON-RPC error of the MCP SDK) instead of a 403 scope challenge.
	Hide bool
}

// ItemRule names items and the scopes they require beyond the route's.
type ItemRule struct {
	// Tools are exact names or globs with '*'; Prompts exact names;
	// Resources URI prefixes (MCP). Methods are exact JSON-RPC methods or
	// prefixes ending in "/*" (A2A).
	Tools, Prompts, Resources, Methods []string
	RequiredScopes                     []string
	ScopeMatchAll                      bool
	// RateLimit is per client on the rule's items; nil means none.
	RateLimit *registry.RateLimit
}

// satisfied reports whether held scopes satisfy the rule, with the route's
// implication rules (SPEC §3).
func (r *ItemRule) satisfied(held []string) bool {
	return scope.Satisfies(held, r.RequiredScopes, r.ScopeMatchAll)
}

// ruleFor returns the index of the first rule naming the MCP item, or -1.
func (p *ItemPolicy) ruleFor(kind jsonrpc.ItemKind, name string) int {
	i, _ := p.namedBy(kind, name)
	return i
}

// namedBy returns the index of the first rule naming the MCP item and the
// name, glob or prefix of it that does, or -1 and "".
func (p *ItemPolicy) namedBy(kind jsonrpc.ItemKind, name string) (int, string) {
	for i := range p.Rules {
		r := &p.Rules[i]
		switch kind {
		case jsonrpc.ItemTool:
			for _, pat := range r.Tools {
				if globMatch(pat, name) {
					return i, pat
				}
			}
		case jsonrpc.ItemPrompt:
			for _, n := range r.Prompts {
				if n == name {
					return i, n
				}
			}
		case jsonrpc.ItemResource:
			for _, prefix := range r.Resources {
				if strings.HasPrefix(name, prefix) {
					return i, prefix
				}
			}
		}
	}
	return -1, ""
}

// ruleForMethod returns the index of the first rule naming the A2A method,
// or -1.
func (p *ItemPolicy) ruleForMethod(method string) int {
	i, _ := p.methodNamedBy(method)
	return i
}

// methodNamedBy returns the index of the first rule naming the A2A method
// and the method or "/*" prefix of it that does, or -1 and "".
func (p *ItemPolicy) methodNamedBy(method string) (int, string) {
	for i := range p.Rules {
		for _, m := range p.Rules[i].Methods {
			if m == method || strings.HasSuffix(m, "/*") && strings.HasPrefix(method, m[:len(m)-1]) {
				return i, m
			}
		}
	}
	return -1, ""
}

// allows reports whether held scopes may use the MCP item: the scopes of
// the first rule naming it, or for an item no rule names, the route's
// (already checked) unless unlisted items are denied. The route's own
// scopes are checked before this by the decision.
func (p *ItemPolicy) allows(kind jsonrpc.ItemKind, name string, held []string) bool {
	if i := p.ruleFor(kind, name); i >= 0 {
		return p.Rules[i].satisfied(held)
	}
	return !p.DenyUnlisted
}

// allowsTemplate reports whether held scopes may read every URI the MCP
// resource template tmpl (RFC 6570, as resources/templates/list lists it)
// can expand to, so that the caller sees the template only when it could
// read what it leads to. Rules match resource URIs by prefix, and the
// gateway does not expand templates: the URIs are taken to be every string
// that starts with the template's literal text before its first '{' (an
// expression may expand to anything). A rule with a prefix that this
// literal text starts with names all of them, and decides the template
// unless an earlier rule already refused part of it; a rule with a longer
// prefix that starts with the literal text names some of them, and hides
// the template when the caller does not satisfy it (conservatively: an
// earlier rule might have decided those URIs first). A template without
// an expression is the one URI it names, judged as a resource.
func (p *ItemPolicy) allowsTemplate(tmpl string, held []string) bool {
	brace := strings.IndexByte(tmpl, '{')
	if brace < 0 {
		return p.allows(jsonrpc.ItemResource, tmpl, held)
	}
	literal := tmpl[:brace]
	for i := range p.Rules {
		r := &p.Rules[i]
		for _, prefix := range r.Resources {
			switch {
			case strings.HasPrefix(literal, prefix):
				return r.satisfied(held)
			case strings.HasPrefix(prefix, literal) && !r.satisfied(held):
				return false
			}
		}
	}
	return !p.DenyUnlisted
}

// allowsListed reports whether held scopes may use an item of a list
// answer: allows, or allowsTemplate for a resource template.
func (p *ItemPolicy) allowsListed(kind jsonrpc.ItemKind, name string, held []string) bool {
	if kind == jsonrpc.ItemResourceTemplate {
		return p.allowsTemplate(name, held)
	}
	return p.allows(kind, name, held)
}

// listJudge decides the items of one response's list answers for one
// caller: allowsListed, with each rule's scopes checked once and, for
// tools, the rules' patterns taken apart once (where each first '*' is)
// rather than once per tool and rule. A tools/list answer holds hundreds
// of tools, each tried against the rules in order; past the first few,
// the judge indexes the patterns by their literal prefix (the text before
// the first '*', or the whole of an exact name), so that a tool is tried
// only against the patterns that could match it.
type listJudge struct {
	p    *ItemPolicy
	held []string
	// tools are the tool patterns of every rule, in rule order and, within
	// a rule, in the order given: the first that matches decides, as in
	// namedBy. Built at the first tool.
	tools []toolPattern
	built bool
	// looked counts the tools decided; the index is built once it reaches
	// indexAfter.
	looked, indexAfter int
	index              *toolIndex
	// sat caches each rule's satisfied(held): 0 not yet known, 1 yes, -1
	// no.
	sat []int8
}

// toolPattern is one tool name or glob of rule rule, with the index of its
// first '*' (-1 for an exact name).
type toolPattern struct {
	rule    int
	pattern string
	star    int
}

// prefix is the literal text every name the pattern matches starts with.
func (t *toolPattern) prefix() string {
	if t.star < 0 {
		return t.pattern
	}
	return t.pattern[:t.star]
}

// toolIndex finds the patterns that could match a name: those whose
// prefix is one of the name's prefixes, and those that start with '*'.
// Each list of candidates is in pattern order.
type toolIndex struct {
	// first is the first pattern with a prefix, next the next with the
	// same prefix (-1: none).
	first map[string]int
	next  []int
	// lengths are the lengths of the prefixes, once each.
	lengths []int
	// open are the patterns starting with '*'.
	open []int
}

// judgeIndexAfter is how many tools a listJudge decides by trying every
// pattern before it indexes them: building the index costs about as much
// as trying a few dozen tools.
const judgeIndexAfter = 16

func newListJudge(p *ItemPolicy, held []string) *listJudge {
	return &listJudge{p: p, held: held, indexAfter: judgeIndexAfter}
}

// allows is p.allowsListed(kind, name, held).
func (j *listJudge) allows(kind jsonrpc.ItemKind, name string) bool {
	if kind != jsonrpc.ItemTool {
		return j.p.allowsListed(kind, name, j.held)
	}
	if rule := j.toolRule(name); rule >= 0 {
		return j.satisfied(rule)
	}
	return !j.p.DenyUnlisted
}

// toolRule is p.ruleFor(ItemTool, name).
func (j *listJudge) toolRule(name string) int {
	if !j.built {
		for i := range j.p.Rules {
			for _, pat := range j.p.Rules[i].Tools {
				j.tools = append(j.tools, toolPattern{rule: i, pattern: pat, star: strings.IndexByte(pat, '*')})
			}
		}
		j.built = true
	}
	if j.index == nil && j.looked >= j.indexAfter && len(j.tools) > 1 {
		j.index = indexTools(j.tools)
	}
	j.looked++
	if j.index == nil {
		for _, t := range j.tools {
			if globMatchAt(t.pattern, t.star, name) {
				return t.rule
			}
		}
		return -1
	}
	best := len(j.tools)
	for _, i := range j.index.open {
		if globMatchAt(j.tools[i].pattern, j.tools[i].star, name) {
			best = i
			break
		}
	}
	for _, l := range j.index.lengths {
		if l > len(name) {
			continue
		}
		i, ok := j.index.first[name[:l]]
		for ok && i >= 0 && i < best {
			if t := &j.tools[i]; globMatchAt(t.pattern, t.star, name) {
				best = i
				break
			}
			i = j.index.next[i]
		}
	}
	if best == len(j.tools) {
		return -1
	}
	return j.tools[best].rule
}

// indexTools indexes patterns by their prefixes.
func indexTools(tools []toolPattern) *toolIndex {
	x := &toolIndex{first: make(map[string]int, len(tools)), next: make([]int, len(tools))}
	for i := len(tools) - 1; i >= 0; i-- {
		t := &tools[i]
		if t.star == 0 {
			continue
		}
		p := t.prefix()
		if n, ok := x.first[p]; ok {
			x.next[i] = n
		} else {
			x.next[i] = -1
			if !slices.Contains(x.lengths, len(p)) {
				x.lengths = append(x.lengths, len(p))
			}
		}
		x.first[p] = i
	}
	for i := range tools {
		if tools[i].star == 0 {
			x.open = append(x.open, i)
		}
	}
	return x
}

// satisfied is p.Rules[i].satisfied(held), remembered.
func (j *listJudge) satisfied(i int) bool {
	if j.sat == nil {
		j.sat = make([]int8, len(j.p.Rules))
	}
	if j.sat[i] == 0 {
		j.sat[i] = -1
		if j.p.Rules[i].satisfied(j.held) {
			j.sat[i] = 1
		}
	}
	return j.sat[i] > 0
}

// globMatch matches name against a pattern whose only wildcard is '*' (any
// run of characters, none included). It cuts the pattern at its stars and
// finds each literal piece in turn, leftmost first, which is exact for such
// patterns and linear in the name: names come from request bodies and may
// be long.
func globMatch(pattern, name string) bool {
	return globMatchAt(pattern, strings.IndexByte(pattern, '*'), name)
}

// globMatchAt is globMatch for a pattern whose first '*' is at star (-1:
// none).
func globMatchAt(pattern string, star int, name string) bool {
	if star < 0 {
		return pattern == name
	}
	if len(name) < star || name[:star] != pattern[:star] {
		return false
	}
	name, pattern = name[star:], pattern[star+1:]
	for {
		star = strings.IndexByte(pattern, '*')
		if star < 0 {
			// The last piece must end the name.
			return len(name) >= len(pattern) && strings.HasSuffix(name, pattern)
		}
		piece := pattern[:star]
		i := strings.Index(name, piece)
		if i < 0 {
			return false
		}
		name, pattern = name[i+len(piece):], pattern[star+1:]
	}
}
