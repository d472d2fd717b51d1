package tokenserver

import (
	"encoding/base64"
	"slices"
	"testing"
)

// FuzzParseForm feeds arbitrary content types, Authorization headers and
// bodies to the form and client-credential parser: it must never panic, and
// whatever it accepts must hold at most one credential source.
func FuzzParseForm(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "", []byte("grant_type=client_credentials&scope=mcp&client_id=a.b&client_secret=s"))
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "Basic "+base64.StdEncoding.EncodeToString([]byte("a.b:s%3A1")), []byte("grant_type=client_credentials&scope=mcp"))
	f.Add("application/x-www-form-urlencoded", "basic !!", []byte("audience=a&audience=b&resource=https://x/y"))
	f.Add("text/plain", "Bearer x", []byte("%zz"))
	f.Add("application/x-www-form-urlencoded", "", []byte("audience=hk%FF%28&scope=mcp%00"))
	f.Fuzz(func(t *testing.T, ctype, authz string, body []byte) {
		req, e := parseForm(ctype, authz, body)
		if (req == nil) == (e == nil) {
			t.Fatalf("exactly one of request and error expected: %v %v", req, e)
		}
		if e != nil {
			if e.Status != 400 || e.Code != ErrCodeInvalidRequest {
				t.Fatalf("unexpected error %+v", e)
			}
			return
		}
		if req.Creds.Basic && req.Form.Has("client_secret") {
			t.Fatalf("accepted both client_secret_basic and client_secret_post")
		}
		if !isText(req.Creds.ID) || !isText(req.Creds.Secret) {
			t.Fatalf("accepted credentials that are not text: %q", req.Creds.ID)
		}
		for k, vs := range req.Form {
			if !isText(k) {
				t.Fatalf("accepted a parameter name that is not text: %q", k)
			}
			for _, v := range vs {
				if !isText(v) {
					t.Fatalf("accepted %s=%q: not valid UTF-8 or a control character", k, v)
				}
			}
			if len(vs) > 1 && !repeatable[k] {
				t.Fatalf("accepted repeated %q", k)
			}
			if slices.Contains(vs, "") || len(vs) == 0 {
				t.Fatalf("kept an empty %q: RFC 6749 §3.1 treats it as omitted", k)
			}
		}
	})
}

// FuzzDecodeBasic checks that Basic credentials round-trip through the
// RFC 6749 §2.3.1 encoding.
func FuzzDecodeBasic(f *testing.F) {
	f.Add("team-a.alpha", "s3cr3t:with+plus&amp")
	f.Add("", "")
	f.Add("a:b", "%")
	f.Fuzz(func(t *testing.T, id, secret string) {
		enc := base64.StdEncoding.EncodeToString([]byte(formEscape(id) + ":" + formEscape(secret)))
		gotID, gotSecret, ok := decodeBasic(enc)
		if !ok || gotID != id || gotSecret != secret {
			t.Fatalf("round trip of %q:%q gave %q:%q ok=%v", id, secret, gotID, gotSecret, ok)
		}
	})
}
