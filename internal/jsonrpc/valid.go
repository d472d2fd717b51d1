package jsonrpc

import "encoding/binary"

// maxDepth is the deepest nesting of arrays and objects valid accepts,
// encoding/json's limit.
const maxDepth = 10000

// valid reports whether data is one JSON value (RFC 8259), surrounded by
// whitespace or not: exactly what json.Valid reports (FuzzValid checks the
// two against each other), including what json.Valid does not check (the
// bytes of a string need not be UTF-8) and what it limits (arrays and
// objects nested at most 10000 deep). It is written for list answers,
// which are tens of kilobytes of mostly strings: it reads a string eight
// bytes at a time, where encoding/json's scanner takes a function call per
// byte.
func valid(data []byte) bool {
	// objects has a bit per level of nesting, set for an object, clear for
	// an array.
	var objects [maxDepth/64 + 1]uint64
	depth := 0
	i := skipSpace(data, 0)
	for {
		// A value starts at i.
		if i >= len(data) {
			return false
		}
		switch c := data[i]; c {
		case '{', '[':
			if depth == maxDepth {
				return false
			}
			depth++
			bit := uint64(1) << ((depth - 1) % 64)
			if c == '{' {
				objects[(depth-1)/64] |= bit
			} else {
				objects[(depth-1)/64] &^= bit
			}
			i = skipSpace(data, i+1)
			if i < len(data) && (c == '{' && data[i] == '}' || c == '[' && data[i] == ']') {
				i++
				depth--
				break // an empty object or array: a whole value
			}
			if c == '{' {
				if i = validKey(data, i); i < 0 {
					return false
				}
			}
			continue // its first value starts at i
		case '"':
			if i = validString(data, i); i < 0 {
				return false
			}
		case 't':
			if i = validLiteral(data, i, "true"); i < 0 {
				return false
			}
		case 'f':
			if i = validLiteral(data, i, "false"); i < 0 {
				return false
			}
		case 'n':
			if i = validLiteral(data, i, "null"); i < 0 {
				return false
			}
		default:
			if i = validNumber(data, i); i < 0 {
				return false
			}
		}
		// A value ended at i: what follows is a comma and the next value,
		// the end of the array or object that holds it, or the end of the
		// input.
		for {
			i = skipSpace(data, i)
			if depth == 0 {
				return i == len(data)
			}
			if i >= len(data) {
				return false
			}
			obj := objects[(depth-1)/64]&(1<<((depth-1)%64)) != 0
			if c := data[i]; c == '}' && obj || c == ']' && !obj {
				i++
				depth--
				continue
			}
			if data[i] != ',' {
				return false
			}
			i = skipSpace(data, i+1)
			if obj {
				if i = validKey(data, i); i < 0 {
					return false
				}
			}
			break
		}
	}
}

// validKey reads a member name and its colon at i, returning the index of
// the value after it, or -1.
func validKey(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	if i = validString(data, i); i < 0 {
		return -1
	}
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return -1
	}
	return skipSpace(data, i+1)
}

// Eight bytes at once (bit twiddling of the kind in Sean Anderson's "Bit
// Twiddling Hacks": whether a word has a zero byte, or a byte less than n).
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special reports whether any of the eight bytes of w is a quote, a
// backslash or a control character (less than 0x20): what ends the plain
// run of a string. Each test is exact about whether some byte matches,
// which is all this needs.
func special(w uint64) bool {
	quote, backslash := w^(ones*'"'), w^(ones*'\\')
	return ((w-ones*0x20)&^w|(quote-ones)&^quote|(backslash-ones)&^backslash)&highs != 0
}

// validString reads the string whose quote is at i, returning the index
// after its closing quote, or -1: control characters must be escaped, and
// escapes are those of RFC 8259 §7.
func validString(data []byte, i int) int {
	j := i + 1
	for {
		for j+8 <= len(data) && !special(binary.LittleEndian.Uint64(data[j:])) {
			j += 8
		}
		if j >= len(data) {
			return -1
		}
		switch c := data[j]; {
		case c == '"':
			return j + 1
		case c == '\\':
			if j+1 >= len(data) {
				return -1
			}
			switch data[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(data) {
					return -1
				}
				for _, h := range data[j+2 : j+6] {
					if !isHex(h) {
						return -1
					}
				}
				j += 6
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default:
			j++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// validLiteral reads lit (true, false, null) at i, returning the index
// after it, or -1.
func validLiteral(data []byte, i int, lit string) int {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// validNumber reads a number at i (RFC 8259 §6), returning the index after
// it, or -1.
func validNumber(data []byte, i int) int {
	if data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data) || !isDigit(data[i]):
		return -1
	case data[i] == '0':
		i++
	default:
		i = digits(data, i)
	}
	if i < len(data) && data[i] == '.' {
		if i++; i >= len(data) || !isDigit(data[i]) {
			return -1
		}
		i = digits(data, i)
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			return -1
		}
		i = digits(data, i)
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digits returns the index after the run of digits at i.
func digits(data []byte, i int) int {
	for i < len(data) && isDigit(data[i]) {
		i++
	}
	return i
}
