package dpop_test

import (
	"testing"

	"github.com/scopegate/scopegate/internal/dpop"
)

func TestNormalizeURL(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{name: "A plain URL is unchanged", in: "https://a.example/oauth/token", want: "https://a.example/oauth/token"},
		{name: "Scheme and host are lower-cased", in: "HTTPS://A.Example/Path", want: "https://a.example/Path"},
		{name: "The default https port is dropped", in: "https://a.example:443/x", want: "https://a.example/x"},
		{name: "The default http port is dropped", in: "http://a.example:80/x", want: "http://a.example/x"},
		{name: "Another port is kept", in: "https://a.example:8443/x", want: "https://a.example:8443/x"},
		{name: "An empty path is a slash", in: "https://a.example", want: "https://a.example/"},
		{name: "Query and fragment are dropped", in: "https://a.example/x?y=1#z", want: "https://a.example/x"},
		{name: "Unreserved characters are decoded", in: "https://a.example/%7Euser/%61", want: "https://a.example/~user/a"},
		{name: "Other percent-encodings are upper-cased", in: "https://a.example/a%2fb", want: "https://a.example/a%2Fb"},
		{name: "Dot segments are removed", in: "https://a.example/a/./b/../c", want: "https://a.example/a/c"},
		{name: "Dot segments do not climb above the root", in: "https://a.example/../../x", want: "https://a.example/x"},
		{name: "A trailing dot-dot leaves a slash", in: "https://a.example/a/b/..", want: "https://a.example/a/"},
		{name: "An IPv6 literal keeps its brackets", in: "https://[::1]:443/x", want: "https://[::1]/x"},
		{name: "Userinfo is kept, so it never matches", in: "https://u@a.example/x", want: "https://u@a.example/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dpop.NormalizeURL(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"/oauth/token", "ftp://a.example/x", "https://", "mailto:x@y", "%zz"} {
		if got, err := dpop.NormalizeURL(bad); err == nil {
			t.Errorf("NormalizeURL(%q) = %q, want an error", bad, got)
		}
	}
}
