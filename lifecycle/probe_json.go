package lifecycle

import (
	"unicode/utf8"
)

// The IETF draft "Health Check Response Format for HTTP APIs"
// (application/health+json), which the probes answer in when asked
// (docs/contract.md, C10.6).

// buildJSON appends the answer in the IETF health check format: status
// "pass" or "fail"; a checks object with one single-element array per
// checked service, keyed by its name, giving its status and, as
// observedValue, its state; and, when it fails, an output that says why.
func (p probe) buildJSON(buf []byte, services []*service, q *request, shut, serving bool) ([]byte, bool) {
	ok := !shut || p.live
	start := len(buf)
	buf = append(buf, `{"status":"pass","checks":{`...)
	n := 0
	for _, s := range services {
		if q.excluded(s) {
			continue
		}
		v := p.judge(s, shut, serving)
		if n > 0 {
			buf = append(buf, ',')
		}
		n++
		buf = appendJSONString(buf, s.name)
		buf = append(buf, `:[{"componentType":"component","status":`...)
		if v.ok {
			buf = append(buf, `"pass"`...)
		} else {
			ok = false
			buf = append(buf, `"fail"`...)
		}
		buf = append(buf, `,"observedValue":`...)
		buf = appendJSONString(buf, v.state.String())
		if !v.ok {
			buf = append(buf, `,"output":"`...)
			buf = appendReason(buf, v) // no character that needs escaping
			buf = append(buf, '"')
		}
		buf = append(buf, "}]"...)
	}
	buf = append(buf, '}')
	if shut && !p.live {
		buf = append(buf, `,"output":"shutdown has begun"`...)
	}
	buf = append(buf, "}\n"...)
	if !ok {
		copy(buf[start+len(`{"status":"`):], "fail")
	}
	return buf, ok
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped (\n, \r, \t or \u00XX), invalid UTF-8
// replaced by U+FFFD.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, `\ufffd`...)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
