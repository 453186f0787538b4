package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The ways a Health sample is taken (Schedule.HealthVia): by calling
// Manager.Health, or by asking lifecycle.HealthHandler with an HTTP method.
const (
	ViaCall = ""
	ViaGet  = http.MethodGet
	ViaHead = http.MethodHead
	ViaPost = http.MethodPost // not allowed: 405, and Health is not read
)

// serveHealth asks h with method, on a recorder, as a client of
// /api/workers would, and returns the sample: the entries decoded from the
// JSON body (with the keys each entry has), and the status and headers
// that matter, summarised in HTTP.
func serveHealth(h http.Handler, method string) HealthSample {
	w := httptest.NewRecorder()
	// A request as the server would hand it over (httptest.NewRequest
	// parses a whole request line: a third of the cost of a sample).
	h.ServeHTTP(w, &http.Request{Method: method, URL: &url.URL{Path: "/api/workers"}, Proto: "HTTP/1.1",
		ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, Body: http.NoBody, Host: "example.com", RequestURI: "/api/workers"})
	res := w.Result()
	body := w.Body.Bytes()
	s := HealthSample{Via: method, Entries: []HealthEntry{}}
	hd := res.Header
	switch res.StatusCode {
	case http.StatusOK:
		length := "wrong"
		switch n, err := strconv.Atoi(hd.Get("Content-Length")); {
		case err != nil:
			length = "missing"
		case method == http.MethodHead && len(body) == 0 && n > 0:
			length = "set, no body"
		case n == len(body):
			length = "of the body"
		}
		s.HTTP = fmt.Sprintf("200 type=%q cache=%q length %s", hd.Get("Content-Type"), hd.Get("Cache-Control"), length)
	case http.StatusMethodNotAllowed:
		s.HTTP = fmt.Sprintf("405 allow=%q", hd.Get("Allow"))
	default:
		s.HTTP = fmt.Sprintf("%d %q", res.StatusCode, body)
	}
	if method != http.MethodGet || res.StatusCode != http.StatusOK {
		return s
	}
	entries, err := decodeHealth(body)
	if err != nil {
		s.HTTP += fmt.Sprintf(" bad body %q: %v", body, err)
		return s
	}
	s.Entries = entries
	return s
}

// decodeHealth decodes the handler's body: a JSON array of objects, then a
// newline. Each entry's JSON lists the keys present, in order.
func decodeHealth(body []byte) ([]HealthEntry, error) {
	if !bytes.HasSuffix(body, []byte("\n")) {
		return nil, fmt.Errorf("no final newline")
	}
	var raw []map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("null, not an array")
	}
	out := []HealthEntry{}
	for _, obj := range raw {
		e := HealthEntry{LastSuccess: Unset, LastFailure: Unset, JSON: jsonKeyList(obj)}
		var ok [5]bool
		e.Name, ok[0] = obj["name"].(string)
		n, isNum := obj["consecutive_failures"].(float64)
		e.Failures, ok[1] = int(n), isNum && n == float64(int(n))
		e.LastError, ok[2] = obj["last_error"].(string)
		ok[2] = ok[2] || obj["last_error"] == nil
		e.LastSuccess, ok[3] = stampOf(obj["last_success"])
		e.LastFailure, ok[4] = stampOf(obj["last_failure"])
		if ok != [5]bool{true, true, true, true, true} {
			return nil, fmt.Errorf("entry %v: a field of the wrong type", obj)
		}
		out = append(out, e)
	}
	return out, nil
}

// stampOf is the virtual time of a JSON time (RFC 3339), Unset if absent.
func stampOf(v any) (time.Duration, bool) {
	if v == nil {
		return Unset, true
	}
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	return t.Sub(Epoch), true
}

// jsonKeyList lists an object's keys in a fixed order.
func jsonKeyList(obj map[string]any) string {
	var keys []string
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

// wantKeys is the model of the keys of an entry's JSON: name and
// consecutive_failures always; the times only once they happened
// (omitzero), last_error only when not empty.
func wantKeys(e HealthEntry) string {
	keys := []string{"consecutive_failures", "name"}
	if e.LastError != "" || e.Panicked {
		keys = append(keys, "last_error")
	}
	if e.LastFailure != Unset {
		keys = append(keys, "last_failure")
	}
	if e.LastSuccess != Unset {
		keys = append(keys, "last_success")
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

// wantHTTP is the model of a sample's status and headers.
func wantHTTP(via string) string {
	switch via {
	case ViaGet:
		return `200 type="application/json" cache="no-store" length of the body`
	case ViaHead:
		return `200 type="application/json" cache="no-store" length set, no body`
	case ViaPost:
		return `405 allow="GET, HEAD"`
	}
	return ""
}
