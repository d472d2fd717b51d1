package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
)

// The head of a backend's answer, read without http.ReadResponse when it
// is of the plain kind nearly every answer is.
//
// http.ReadResponse builds a textproto reader, a header map, a string per
// line and value, a Response, a transfer reader and a body, and the lean
// path then copied that map into the client's header and deleted the
// hop-by-hop fields from it: 5 % of the gateway's CPU under the bench's
// load (docs/benchmarks.md, "The backend's answer head"). quickHead reads
// the common case straight into the client's header with two allocations
// (the head as one string, the values' slice). It takes an answer only
// when all of this holds, and leaves everything else, untouched, to
// http.ReadResponse:
//
//   - the whole head (status line to blank line) is already buffered;
//   - the status line is "HTTP/1.1 NNN" with NNN from 200 to 599;
//   - every line ends in CRLF, no line is folded, every name is a token
//     and every value is of the bytes textproto accepts;
//   - there is no Transfer-Encoding, Trailer or Pragma field, at most one
//     Content-Length and it is digits, and Connection, if present, is
//     just "keep-alive";
//   - the body's length is known: a Content-Length, or an answer that has
//     none (HEAD, 204, 304).
//
// On those answers it agrees with http.ReadResponse followed by
// removeHopByHop and copyHeader (TestQuickHeadAgreesWithReadResponse and
// FuzzQuickHead check it): the same status, fields, values in the same
// order, length and body.

// maxQuickFields bounds the fields of an answer quickHead reads.
const maxQuickFields = 32

// quickField locates one field's name and value in the head.
type quickField struct{ k0, k1, v0, v1 int32 }

// quickAnswer is what quickHead learned of an answer.
type quickAnswer struct {
	status int
	// length is the body's: 0 when it has none, -1 for an answer to HEAD
	// without a Content-Length (http.ReadResponse's ContentLength).
	length int64
	// size is the head's, blank line included.
	size int
	// bodyless: the answer carries no body whatever its length says.
	bodyless bool
}

// parseQuickHead parses the head at the start of p into a and fields. ok
// is false when the answer is not of the kind described above, or p does
// not hold its whole head.
func parseQuickHead(p []byte, method string, fields *[maxQuickFields]quickField) (a quickAnswer, nf int, ok bool) {
	end := bytes.Index(p, crlfcrlf)
	if end < 0 || end+4 > leanMaxHeaderBytes {
		return a, 0, false
	}
	head := p[:end+2] // every line with its CRLF
	// The status line.
	line, rest, _ := bytes.Cut(head, crlf)
	if len(line) < 12 || string(line[:9]) != "HTTP/1.1 " || (len(line) > 12 && line[12] != ' ') {
		return a, 0, false
	}
	d0, d1, d2 := line[9], line[10], line[11]
	if d0 < '2' || d0 > '5' || d1 < '0' || d1 > '9' || d2 < '0' || d2 > '9' {
		return a, 0, false
	}
	for _, c := range line[12:] {
		if c == '\r' || c == '\n' {
			return a, 0, false
		}
	}
	a.status = int(d0-'0')*100 + int(d1-'0')*10 + int(d2-'0')
	a.size = end + 4

	length := int64(-1)
	off := len(line) + 2
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, crlf)
		lineOff := off
		off += len(line) + 2
		if nf == maxQuickFields {
			return a, 0, false
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return a, 0, false // no name, or a folded line
		}
		name := line[:colon]
		for _, c := range name {
			if !isTokenByte(c) {
				return a, 0, false
			}
		}
		v0, v1 := colon+1, len(line)
		for v0 < v1 && (line[v0] == ' ' || line[v0] == '\t') {
			v0++
		}
		for v1 > v0 && (line[v1-1] == ' ' || line[v1-1] == '\t') {
			v1--
		}
		value := line[v0:v1]
		for _, c := range value {
			if !validValueByte(c) {
				return a, 0, false
			}
		}
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length >= 0 {
				return a, 0, false
			}
			if length = digits(value); length < 0 {
				return a, 0, false
			}
		case asciiEqualFold(name, "Transfer-Encoding"), asciiEqualFold(name, "Trailer"), asciiEqualFold(name, "Pragma"):
			return a, 0, false
		case asciiEqualFold(name, "Connection"):
			if !asciiEqualFold(value, "keep-alive") {
				return a, 0, false
			}
		}
		fields[nf] = quickField{int32(lineOff), int32(lineOff + colon), int32(lineOff + v0), int32(lineOff + v1)}
		nf++
	}

	switch {
	case method == http.MethodHead:
		a.bodyless, a.length = true, length
	case a.status == http.StatusNoContent || a.status == http.StatusNotModified:
		a.bodyless, a.length = true, 0
	case length < 0:
		return a, 0, false // the body runs until the connection closes
	default:
		a.length = length
	}
	return a, nf, true
}

// commit adds the fields of the head in p to h, less the hop-by-hop ones,
// after what h holds already (as copyHeader would).
func (a *quickAnswer) commit(p []byte, fields []quickField, h http.Header) {
	s := string(p[:a.size])
	vals := make([]string, len(fields))
	for i, f := range fields {
		k := http.CanonicalHeaderKey(s[f.k0:f.k1])
		if isHopByHop(k) {
			continue
		}
		vals[i] = s[f.v0:f.v1]
		if old, ok := h[k]; ok {
			h[k] = append(old, vals[i])
		} else {
			h[k] = vals[i : i+1 : i+1]
		}
	}
}

// quickHead reads the head of an answer buffered in br into h when it is
// of the plain kind, and fills res with the rest. ok is false, with
// nothing read and h unchanged, otherwise.
func (c *backendConn) quickHead(method string, h http.Header) (res *http.Response, ok bool) {
	p, _ := c.br.Peek(c.br.Buffered())
	var fields [maxQuickFields]quickField
	a, nf, ok := parseQuickHead(p, method, &fields)
	if !ok {
		return nil, false
	}
	a.commit(p, fields[:nf], h)
	_, _ = c.br.Discard(a.size)
	c.res = http.Response{StatusCode: a.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, ContentLength: a.length, Body: http.NoBody}
	if !a.bodyless && a.length > 0 {
		c.body = lengthReader{r: c.br, n: a.length}
		c.res.Body = &c.body
	}
	return &c.res, true
}

// lengthReader reads a body of a known length from the connection; a
// connection that ends before it is io.ErrUnexpectedEOF, as net/http's
// body reader has it.
type lengthReader struct {
	r *bufio.Reader
	n int64
}

func (l *lengthReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if err == io.EOF && l.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (l *lengthReader) Close() error { return nil }

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
)

// digits is the value of a Content-Length of 1 to 18 digits, or -1.
func digits(b []byte) int64 {
	if len(b) == 0 || len(b) > 18 {
		return -1
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// asciiEqualFold reports whether b is s, ignoring the case of ASCII
// letters.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// isTokenByte reports whether c may appear in a field name (RFC 9110
// §5.6.2 tchar).
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validValueByte reports whether c may appear in a field value, as
// textproto reads it and as the lean path writes identity fields: tab,
// visible ASCII, space, and obs-text.
func validValueByte(c byte) bool {
	return c == '\t' || c >= 0x20 && c != 0x7f
}
