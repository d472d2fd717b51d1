package llm

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"

	"github.com/scopegate/scopegate/internal/jsonmember"
)

// errOdd stops a scan that found what splice leaves to the general path.
var errOdd = errors.New("a member splice leaves to the decoding path")

// splice is Apply without decoding the body: it replaces or inserts the
// few members it changes and leaves every other byte as it was. ok is
// false when the body has something splice leaves to the general path: a
// member it changes written twice, with an escape or in another case (which
// encoding/json would match), or a stream_options that is not an object.
func (rw Rewrite) splice(op Operation, body []byte, setModel, clamp, usage bool) (out []byte, ok bool) {
	field := OutputField(op)
	names := [4]string{"model", field, "max_tokens", "stream_options"}
	if field == "max_tokens" {
		names[2] = ""
	}
	var found [4]jsonmember.Member
	var have [4]bool
	nonEmpty := false
	open, err := jsonmember.Scan(body, func(m jsonmember.Member) error {
		nonEmpty = true
		for i, n := range names {
			if n == "" || !m.Matches(n) {
				continue
			}
			if have[i] || !m.Written(n) {
				return errOdd
			}
			found[i], have[i] = m, true
		}
		return nil
	})
	if err != nil {
		return nil, false
	}
	type edit struct {
		start, end int
		val        []byte
	}
	var edits []edit
	var insert []byte
	set := func(i int, val []byte) {
		if have[i] {
			edits = append(edits, edit{found[i].Start, found[i].End, val})
			return
		}
		if len(insert) > 0 {
			insert = append(insert, ',')
		}
		insert = append(insert, '"')
		insert = append(insert, names[i]...)
		insert = append(insert, '"', ':')
		insert = append(insert, val...)
	}
	if setModel {
		b, _ := json.Marshal(rw.Model)
		set(0, b)
	}
	if clamp {
		limit := strconv.AppendInt(nil, rw.MaxOutput, 10)
		set(1, limit)
		if op == ChatCompletions && have[2] {
			set(2, limit)
		}
	}
	if usage {
		if !have[3] || string(found[3].Value) == "null" {
			set(3, []byte(`{"include_usage":true}`))
		} else {
			so := found[3].Value
			var iu jsonmember.Member
			var haveIU, anyIU bool
			soOpen, err := jsonmember.Scan(so, func(m jsonmember.Member) error {
				anyIU = true
				if m.Matches("include_usage") {
					if haveIU || !m.Written("include_usage") {
						return errOdd
					}
					iu, haveIU = m, true
				}
				return nil
			})
			if err != nil {
				return nil, false
			}
			base := found[3].Start
			switch {
			case haveIU:
				edits = append(edits, edit{base + iu.Start, base + iu.End, []byte("true")})
			case anyIU:
				edits = append(edits, edit{base + soOpen + 1, base + soOpen + 1, []byte(`"include_usage":true,`)})
			default:
				edits = append(edits, edit{base + soOpen + 1, base + soOpen + 1, []byte(`"include_usage":true`)})
			}
		}
	}
	if len(insert) > 0 {
		if nonEmpty {
			insert = append(insert, ',')
		}
		edits = append(edits, edit{open + 1, open + 1, insert})
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	n := len(body)
	for _, e := range edits {
		n += len(e.val) - (e.end - e.start)
	}
	out = make([]byte, 0, n)
	at := 0
	for _, e := range edits {
		out = append(out, body[at:e.start]...)
		out = append(out, e.val...)
		at = e.end
	}
	return append(out, body[at:]...), true
}
