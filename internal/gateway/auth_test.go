package gateway

import "testing"

// TestIsB64TokenTakesExactlyTheRFC6750Characters checks every byte against
// RFC 6750 §2.1's b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
// "+" / "/" ) *"=", written out here independently of the lookup table.
func TestIsB64TokenTakesExactlyTheRFC6750Characters(t *testing.T) {
	const allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/"
	in := func(c byte) bool {
		for i := range len(allowed) {
			if allowed[i] == c {
				return true
			}
		}
		return false
	}
	for c := range 256 {
		b := byte(c)
		if got, want := isB64Token("ab"+string(b)+"cd"), in(b); got != want {
			t.Errorf("isB64Token with byte %#x inside = %v, want %v", b, got, want)
		}
	}
	for _, tc := range []struct {
		name string
		s    string
		want bool
	}{
		{"an empty token is refused", "", false},
		{"padding alone is refused", "==", false},
		{"padding at the end is taken", "abc==", true},
		{"padding in the middle is refused", "ab=c", false},
		{"a JWT's characters are taken", "eyJh.eyJz.c2ln-_", true},
	} {
		if got := isB64Token(tc.s); got != tc.want {
			t.Errorf("%s: isB64Token(%q) = %v, want %v", tc.name, tc.s, got, tc.want)
		}
	}
}
