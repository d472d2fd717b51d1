package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// quickCases are answers quickHead must read as http.ReadResponse does.
var quickCases = []string{
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nDate: Sat, 05 Dec 2026 23:00:00 GMT\r\n\r\n{}",
	"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 404 Not Found\r\ncontent-length: 5\r\nx-lower-case:  padded \t\r\n\r\nnope!",
	"HTTP/1.1 201 Created\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 3\r\n\r\nabc",
	"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\nContent-Length: 10\r\n\r\n",
	"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\nProxy-Connection: x\r\nUpgrade: h2c\r\nTe: trailers\r\n\r\nx",
	"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 4\r\nEmpty:\r\nObs-Text: caf\xc3\xa9\r\nTab:\tin\tside\r\n\r\nfail",
	"HTTP/1.1 200 OK\r\nRatelimit-Limit: 7\r\nContent-Length: 000003\r\n\r\nabc",
	"HTTP/1.1 200 OK\r\nx_under~score!: v\r\nContent-Length: 2\r\n\r\nhi",
	"HTTP/1.1 599 Whatever reason: with colon\r\nContent-Length: 2\r\n\r\nhi",
}

// declinedCases are answers quickHead must leave to http.ReadResponse.
var declinedCases = map[string]string{
	"chunked":                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
	"trailer announced":        "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nContent-Length: 1\r\n\r\nx",
	"pragma":                   "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 1\r\n\r\nx",
	"connection close":         "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
	"connection names a field": "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nContent-Length: 1\r\n\r\nx",
	"informational":            "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
	"switching":                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
	"HTTP/1.0":                 "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
	"status 600":               "HTTP/1.1 600 Odd\r\nContent-Length: 1\r\n\r\nx",
	"status too long":          "HTTP/1.1 2000 OK\r\nContent-Length: 1\r\n\r\nx",
	"no length":                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
	"two lengths":              "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
	"signed length":            "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",
	"empty length":             "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nx",
	"folded":                   "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 1\r\n\r\nx",
	"space before colon":       "HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 1\r\n\r\nx",
	"bare LF":                  "HTTP/1.1 200 OK\nContent-Length: 1\n\nx",
	"LF inside a line":         "HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\nContent-Length: 1\r\n\r\nx",
	"control byte":             "HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 1\r\n\r\nx",
	"DEL":                      "HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\nContent-Length: 1\r\n\r\nx",
	"no name":                  "HTTP/1.1 200 OK\r\n: v\r\nContent-Length: 1\r\n\r\nx",
	"no colon":                 "HTTP/1.1 200 OK\r\nX-A\r\nContent-Length: 1\r\n\r\nx",
	"head not all here":        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n",
	"too many fields":          "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: 1\r\n", maxQuickFields) + "Content-Length: 1\r\n\r\nx",
}

// readBoth reads raw with http.ReadResponse (then removeHopByHop and
// copyHeader into a header holding one field already, as the lean path
// does) and with quickHead, for the request method.
func readBoth(t testing.TB, raw, method string) (want, got http.Header, wantRes, gotRes *http.Response, gotBody, wantBody []byte, ok bool) {
	base := func() http.Header { return http.Header{"Ratelimit-Limit": {"7"}} }

	req := &http.Request{Method: method}
	wres, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), req)
	c := &backendConn{}
	c.br = bufio.NewReaderSize(strings.NewReader(raw), 4096)
	_, _ = c.br.Peek(1)
	got = base()
	gres, ok := c.quickHead(method, got)
	if !ok {
		if !reflect.DeepEqual(got, base()) || c.br.Buffered() != len(raw) && len(raw) <= 4096 {
			t.Fatalf("quickHead declined %q but read from it or wrote its header: %v", raw, got)
		}
		return nil, nil, nil, nil, nil, nil, false
	}
	if err != nil {
		t.Fatalf("quickHead read %q, which http.ReadResponse refuses: %v", raw, err)
	}
	want = base()
	removeHopByHop(wres.Header)
	copyHeader(want, wres.Header)
	wantBody, werr := io.ReadAll(wres.Body)
	gotBody, gerr := io.ReadAll(gres.Body)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%q: body errors differ: ReadResponse %v, quickHead %v", raw, werr, gerr)
	}
	return want, got, wres, gres, gotBody, wantBody, true
}

func assertAgree(t testing.TB, raw, method string) bool {
	want, got, wres, gres, gotBody, wantBody, ok := readBoth(t, raw, method)
	if !ok {
		return false
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s %q: header\n got %v\nwant %v", method, raw, got, want)
	}
	if gres.StatusCode != wres.StatusCode || gres.ContentLength != wres.ContentLength || gres.Close != wres.Close || len(wres.Trailer) != 0 {
		t.Errorf("%s %q: status %d length %d close %v; ReadResponse: %d %d %v (trailers %v)",
			method, raw, gres.StatusCode, gres.ContentLength, gres.Close, wres.StatusCode, wres.ContentLength, wres.Close, wres.Trailer)
	}
	if !bytes.Equal(gotBody, wantBody) {
		t.Errorf("%s %q: body %q, ReadResponse %q", method, raw, gotBody, wantBody)
	}
	return true
}

func TestQuickHeadAgreesWithReadResponse(t *testing.T) {
	for _, raw := range quickCases {
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
			if !assertAgree(t, raw, method) {
				t.Errorf("%s %q: quickHead declined an answer of the plain kind", method, raw)
			}
		}
	}
}

func TestQuickHeadLeavesTheRestToReadResponse(t *testing.T) {
	for name, raw := range declinedCases {
		t.Run(name, func(t *testing.T) {
			if assertAgree(t, raw, http.MethodGet) {
				t.Errorf("quickHead read %q; it should have left it to http.ReadResponse", raw)
			}
		})
	}
	// A HEAD answer may go without a length; any other needs one.
	if !assertAgree(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", http.MethodHead) {
		t.Error("quickHead declined a HEAD answer without Content-Length")
	}
}

func TestQuickHeadBodyEndsWithTheConnection(t *testing.T) {
	c := &backendConn{}
	c.br = bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"))
	_, _ = c.br.Peek(1)
	res, ok := c.quickHead(http.MethodGet, http.Header{})
	if !ok {
		t.Fatal("quickHead declined a plain answer")
	}
	b, err := io.ReadAll(res.Body)
	if string(b) != "short" || err != io.ErrUnexpectedEOF {
		t.Fatalf("read %q, %v; want \"short\", io.ErrUnexpectedEOF", b, err)
	}
}

func TestQuickHeadAllocations(t *testing.T) {
	raw := quickCases[0]
	h := http.Header{}
	c := &backendConn{}
	r := strings.NewReader(raw)
	c.br = bufio.NewReaderSize(r, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		clear(h)
		r.Reset(raw)
		c.br.Reset(r)
		_, _ = c.br.Peek(1)
		if _, ok := c.quickHead(http.MethodGet, h); !ok {
			t.Fatal("declined")
		}
	})
	// The head as one string, the values' slice, and the header map's
	// own growth for three fields.
	if allocs > 3 {
		t.Fatalf("quickHead allocates %v times per answer, want at most 3", allocs)
	}
}

func FuzzQuickHead(f *testing.F) {
	for _, raw := range quickCases {
		f.Add(raw, false)
	}
	for _, raw := range declinedCases {
		f.Add(raw, true)
	}
	f.Fuzz(func(t *testing.T, raw string, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		assertAgree(t, raw, method)
	})
}
