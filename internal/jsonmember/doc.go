// Package jsonmember finds the top-level members of a JSON object without
// decoding it: each member's name and the bytes of its value, in order,
// with strings, nested objects and arrays, numbers and literals skipped
// rather than copied. The DPoP verifier (internal/dpop) reads a proof's
// header and claims with it, the LLM routes (internal/llm) a request's
// model and limits, an answer's usage, and where to splice a rewrite.
//
// It walks structure only: the caller has checked the bytes with
// json.Valid (or produced them), which is what makes skipping sound. On
// other input it returns ErrNotObject or stops somewhere harmless; it never
// panics. Names and string values mean what encoding/json makes of them:
// Member.Name unquotes a name with encoding/json when it holds an escape or
// bytes that are not UTF-8, PlainString recognises the strings that need
// no unquoting.
package jsonmember
