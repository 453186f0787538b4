package sim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// Probe is one request to the liveness or readiness probe (C10), served
// by an http.ServeMux that mounts LivenessHandler at /livez and
// /livez/{service...} and ReadinessHandler at /readyz and
// /readyz/{service...}. It is a driver timer armed after the States
// samples, so at its instant it sees what a States sample there sees.
type Probe struct {
	At      time.Duration
	Live    bool     // /livez; /readyz otherwise
	Method  string   // GET, HEAD, or POST (refused)
	One     string   // a per-service path: /readyz/<One>; it may name no service
	Verbose bool     // ?verbose
	Exclude []string // ?exclude=<name>, in this order; a name may match no service
	Accept  string   // the Accept header; "" for none
}

// The Accept headers a probe is drawn with: none, the health format
// alone, or among others.
const (
	AcceptHealthJSON = "application/health+json"
	AcceptMixed      = "text/plain;q=0.5, application/health+json"
)

// json says whether p asks for application/health+json (C10.8).
func (p Probe) json() bool { return strings.Contains(p.Accept, AcceptHealthJSON) }

// target is p's path and query.
func (p Probe) target() (path, query string) {
	path = "/readyz"
	if p.Live {
		path = "/livez"
	}
	if p.One != "" {
		path += "/" + p.One
	}
	var q []string
	if p.Verbose {
		q = append(q, "verbose")
	}
	for _, x := range p.Exclude {
		q = append(q, "exclude="+url.QueryEscape(x))
	}
	return path, strings.Join(q, "&")
}

func (p Probe) String() string {
	path, query := p.target()
	if query != "" {
		path += "?" + query
	}
	s := fmt.Sprintf("%v %s %s", fmtDur(p.At), p.Method, path)
	if p.Accept != "" {
		s += fmt.Sprintf(" Accept=%q", p.Accept)
	}
	return s
}

// ProbeSample is one probe's answer: the status and the headers that
// matter, summarised, and the body as lines (text), or as the lines
// canonJSON makes of it (application/health+json).
type ProbeSample struct {
	At   time.Duration
	Req  string // the request, as Probe.String renders it
	HTTP string
	Body []string
}

func (s ProbeSample) String() string {
	b := make([]byte, 0, 128+64*len(s.Body))
	b = append(b, "at "...)
	b = append(b, fmtDur(s.At)...)
	b = append(b, ": "...)
	b = append(b, s.Req...)
	b = append(b, " -> "...)
	b = append(b, s.HTTP...)
	b = append(b, " ["...)
	for k, l := range s.Body {
		if k > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendQuote(b, l)
	}
	return string(append(b, ']'))
}

// probeMux mounts the probes as C10.9 says. It is made once (a ServeMux
// parses its patterns as they are registered, which costs more than a
// request): its handlers make m's handler for each request, m being the
// Manager of the request's context (managerKey).
var probeMux = func() *http.ServeMux {
	mux := http.NewServeMux()
	of := func(handler func(*lifecycle.Manager) http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handler(r.Context().Value(managerKey{}).(*lifecycle.Manager)).ServeHTTP(w, r)
		})
	}
	live, ready := of(lifecycle.LivenessHandler), of(lifecycle.ReadinessHandler)
	mux.Handle("/livez", live)
	mux.Handle("/livez/{service...}", live)
	mux.Handle("/readyz", ready)
	mux.Handle("/readyz/{service...}", ready)
	return mux
}()

// managerKey is the context key of the Manager a probe request asks.
type managerKey struct{}

// serveProbe asks m's probes as a kubelet would, through probeMux, on a
// recorder, and returns the answer.
func serveProbe(m *lifecycle.Manager, p Probe) ProbeSample {
	path, query := p.target()
	uri := path
	if query != "" {
		uri += "?" + query
	}
	hd := http.Header{}
	if p.Accept != "" {
		hd.Set("Accept", p.Accept)
	}
	w := httptest.NewRecorder()
	req := &http.Request{Method: p.Method, URL: &url.URL{Path: path, RawQuery: query}, Proto: "HTTP/1.1",
		ProtoMajor: 1, ProtoMinor: 1, Header: hd, Body: http.NoBody, Host: "example.com", RequestURI: uri}
	probeMux.ServeHTTP(w, req.WithContext(context.WithValue(context.Background(), managerKey{}, m)))
	res := w.Result()
	body := w.Body.Bytes()
	s := ProbeSample{Req: p.String()}
	h2 := res.Header
	switch res.StatusCode {
	case http.StatusOK, http.StatusServiceUnavailable:
		length := "wrong: " + strconv.Quote(h2.Get("Content-Length"))
		n, err := strconv.Atoi(h2.Get("Content-Length"))
		switch {
		case err != nil:
			length = "missing"
		case p.Method == http.MethodHead && len(body) > 0:
			length = fmt.Sprintf("%d with a body of %d", n, len(body))
		case p.Method == http.MethodHead && strings.HasPrefix(h2.Get("Content-Type"), AcceptHealthJSON):
			length = "set" // the JSON's bytes are the library's to choose
			if n <= 0 {
				length = fmt.Sprintf("wrong: %d", n)
			}
		case p.Method == http.MethodHead:
			length = strconv.Itoa(n)
		case n == len(body):
			length = "of the body"
		}
		s.HTTP = fmt.Sprintf("%d type=%q cache=%q nosniff=%q vary=%q length %s", res.StatusCode, h2.Get("Content-Type"),
			h2.Get("Cache-Control"), h2.Get("X-Content-Type-Options"), h2.Get("Vary"), length)
	case http.StatusMethodNotAllowed:
		s.HTTP = fmt.Sprintf("405 allow=%q cache=%q", h2.Get("Allow"), h2.Get("Cache-Control"))
		return s
	case http.StatusNotFound:
		s.HTTP = fmt.Sprintf("404 cache=%q", h2.Get("Cache-Control"))
		return s
	default:
		s.HTTP = fmt.Sprintf("%d %q", res.StatusCode, body)
		return s
	}
	switch {
	case p.Method == http.MethodHead:
	case strings.HasPrefix(h2.Get("Content-Type"), AcceptHealthJSON):
		s.Body = canonJSON(body)
	default:
		s.Body = textLines(body)
	}
	return s
}

// textLines splits a text body into its lines; a body without its final
// newline says so in a last line.
func textLines(body []byte) []string {
	text, ok := strings.CutSuffix(string(body), "\n")
	lines := strings.Split(text, "\n")
	if !ok {
		lines = append(lines, "<no final newline>")
	}
	return lines
}

// canonJSON renders an application/health+json body as lines: the status
// and output, then one line per check, by name, with its status,
// observedValue and output; a body that is not the format (an unknown
// key, a value of the wrong type, a check that is not a one-element array
// of a component) is a line saying so.
func canonJSON(body []byte) []string {
	if !bytes.HasSuffix(body, []byte("\n")) {
		return []string{fmt.Sprintf("no final newline: %q", body)}
	}
	var doc healthDoc
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return []string{fmt.Sprintf("bad JSON %q: %v", body, err)}
	}
	top := "status=" + doc.Status
	if doc.Output != nil {
		top += fmt.Sprintf(" output=%q", *doc.Output)
	}
	lines := []string{top}
	if doc.Checks == nil {
		return append(lines, "no checks object")
	}
	names := make([]string, 0, len(doc.Checks))
	for name := range doc.Checks {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		arr := doc.Checks[name]
		if len(arr) != 1 {
			lines = append(lines, fmt.Sprintf("%s: not a one-element array: %v", name, arr))
			continue
		}
		c := arr[0]
		line := name + " " + c.Status + " " + c.ObservedValue
		if c.Output != nil {
			line += fmt.Sprintf(" output=%q", *c.Output)
		}
		if c.ComponentType != "component" {
			line += " componentType=" + c.ComponentType
		}
		lines = append(lines, line)
	}
	return lines
}

// healthDoc is the application/health+json format of C10.8.
type healthDoc struct {
	Status string                   `json:"status"`
	Checks map[string][]healthCheck `json:"checks"`
	Output *string                  `json:"output"`
}

type healthCheck struct {
	ComponentType string  `json:"componentType"`
	Status        string  `json:"status"`
	ObservedValue string  `json:"observedValue"`
	Output        *string `json:"output"`
}

// probeGroups groups the probes by instant, in the order they are
// drawn: withStates[j] are those due at States sample j's instant (the
// first sample there), alone the others, a group per instant. A probe
// made in the timer of the States sample at its instant, or of another
// probe, sees what a timer of its own there would: no other timer comes
// between them. One timer less is one quiescence less.
func probeGroups(s Schedule) (withStates [][]int, alone [][]int) {
	withStates = make([][]int, len(s.StatesAt))
	byInstant := map[time.Duration]int{} // instant -> index in alone
	for k, p := range s.Probes {
		if j := slices.Index(s.StatesAt, p.At); j >= 0 {
			withStates[j] = append(withStates[j], k)
			continue
		}
		g, ok := byInstant[p.At]
		if !ok {
			g = len(alone)
			byInstant[p.At] = g
			alone = append(alone, nil)
		}
		alone[g] = append(alone[g], k)
	}
	return withStates, alone
}

// probeAll asks the probes ks of s, one after the other.
func (r *recorder) probeAll(s Schedule, m *lifecycle.Manager, ks []int) {
	for _, k := range ks {
		r.probe(k, serveProbe(m, s.Probes[k]))
	}
}

// probeSample records probe j's answer.
func (r *recorder) probe(j int, s ProbeSample) {
	s.At = r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.probes[j] = s
}

// probeGiveUp asks the liveness probe about service name, which gave up
// at at, from the GaveUp event: its state is "gave up" and the Manager has
// not yet escalated it (docs/contract.md, C10.5: an Essential service
// under Serve is live meanwhile).
func (r *recorder) probeGiveUp(s Schedule, m *lifecycle.Manager, name string, at time.Duration) {
	i, ok := r.index[name]
	if !ok || s.Serve && !s.Services[i].Essential {
		return
	}
	p := serveProbe(m, Probe{At: at, Live: true, Method: http.MethodGet, One: name})
	p.At = at
	r.mu.Lock()
	defer r.mu.Unlock()
	r.giveUpProbes = append(r.giveUpProbes, p)
}

// sortProbes sorts probe answers by instant, then request.
func sortProbes(ps []ProbeSample) []ProbeSample {
	if len(ps) < 2 {
		return ps
	}
	slices.SortStableFunc(ps, func(a, b ProbeSample) int { return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.Req, b.Req)) })
	return ps
}

// modelGiveUpProbes is the model of the liveness probe asked about each
// service from its GaveUp event, at its instant g: the service has given
// up, and shutdown has begun only if it had before g (under Run, a
// Shutdown at g itself came first; under Serve, this give-up, or one at
// the same instant, escalates only after the event).
func modelGiveUpProbes(s Schedule, exp *Expectation) {
	if !s.GiveUpProbes {
		return
	}
	tr := &exp.Trace
	for i, g := range exp.GaveUpAt {
		if g == Unset || s.Serve && !s.Services[i].Essential {
			continue
		}
		shut := g >= s.StopAt
		if s.Serve {
			shut = g > tr.Stop.Start
		}
		entries := make([]StateEntry, len(s.Services))
		for k := range entries {
			entries[k] = StateEntry{Name: Name(k)}
		}
		entries[i] = StateEntry{Name: Name(i), State: stGaveUp, Since: g}
		p := modelProbe(s, Probe{At: g, Live: true, Method: http.MethodGet, One: Name(i)}, entries, make([]time.Time, len(entries)), shut)
		tr.GiveUpProbes = append(tr.GiveUpProbes, p)
	}
	sortProbes(tr.GiveUpProbes)
}

// shutSeen says whether a sample at instant at sees that shutdown has
// begun (C7.1): under Run, from the first Shutdown (a driver timer older
// than the samples, or made before Run at 0); under Serve, from the
// cancellation of its ctx, which Serve sees in that timer's cascade (at 0,
// once Serve is called, after the samples at 0), or after the instant of
// the first Essential service to give up, which comes on a timer of its
// own, after a sample at its instant.
func shutSeen(s Schedule, tr *Trace, at time.Duration) bool {
	if !s.Serve {
		return at >= s.StopAt
	}
	begin := tr.Stop.Start
	return at > begin || (at == begin && begin == s.CancelAt && at > 0)
}

// rfc3339 is the instant d as the probes write it: RFC 3339 in UTC, with as
// many fractional digits as it needs (C10.7).
func rfc3339(d time.Duration) string { return Epoch.Add(d).UTC().Format(time.RFC3339Nano) }

// backoffUntil is when a service backing off at instant at restarts, as
// a time: its last failure's end plus the delay, which may lie beyond
// the last instant a time.Duration since Epoch can hold (BackoffUntil
// saturates there, as Time.Sub does).
func backoffUntil(ops []stateOp, at time.Duration) time.Time {
	var until time.Time
	for _, op := range ops {
		if op.at > at || (op.at == at && !op.vis) {
			break
		}
		if op.kind == opBackoff {
			until = Epoch.Add(op.at).Add(op.wait)
		}
	}
	return until
}

// verdict is the model of one service's answer to a probe: whether it
// passes and, if not, why (C10.4, C10.5, C10.7). until is when it
// restarts, if it is backing off.
func verdict(s Schedule, i int, e StateEntry, until time.Time, live, shut bool) (bool, string) {
	var ok bool
	if live {
		escalates := s.Serve && s.Services[i].Essential
		ok = e.State != stGaveUp || escalates || shut
	} else {
		ok = (e.State == stRunning && e.Ready) || e.State == stFinished
	}
	if ok {
		return true, ""
	}
	switch e.State {
	case stRegistered:
		return false, "not started"
	case stBackingOff:
		return false, "backing off until " + until.UTC().Format(time.RFC3339Nano)
	case stGaveUp, stStopped, stAbandoned:
		return false, e.State + " at " + rfc3339(e.Since)
	}
	return false, e.State + " since " + rfc3339(e.Since)
}

// modelProbe is the model of probe p's answer, given every service's
// state at its instant and whether shutdown has begun (C10).
func modelProbe(s Schedule, p Probe, entries []StateEntry, untils []time.Time, shut bool) ProbeSample {
	out := ProbeSample{At: p.At, Req: p.String()}
	if p.Method != http.MethodGet && p.Method != http.MethodHead {
		out.HTTP = `405 allow="GET, HEAD" cache="no-store"`
		return out
	}
	// C10.3: every service, less the exclusions; or the one of the path,
	// exclusions ignored.
	checked := make([]int, 0, len(entries))
	for i := range entries {
		if p.One == "" || Name(i) == p.One {
			checked = append(checked, i)
		}
	}
	if p.One != "" && len(checked) == 0 {
		out.HTTP = `404 cache="no-store"`
		return out
	}
	excluded := func(i int) bool { return p.One == "" && slices.Contains(p.Exclude, Name(i)) }

	ok := p.Live || !shut // C10.4: readiness fails from the first instant of shutdown
	var lines []string
	if !p.Live {
		if shut {
			lines = append(lines, "[-]shutdown failed: shutdown has begun")
		} else {
			lines = append(lines, "[+]shutdown ok")
		}
	}
	top := "status=pass"
	var checks []string
	for _, i := range checked {
		name := Name(i)
		if excluded(i) {
			lines = append(lines, "[+]"+name+" excluded: ok")
			continue
		}
		pass, reason := verdict(s, i, entries[i], untils[i], p.Live, shut)
		if pass {
			lines = append(lines, "[+]"+name+" ok")
			checks = append(checks, fmt.Sprintf("%s pass %s", name, entries[i].State))
			continue
		}
		ok = false
		if p.Live {
			lines = append(lines, "[-]"+name+" failed: "+reason)
		} else {
			lines = append(lines, "[-]"+name+" not ready: "+reason)
		}
		checks = append(checks, fmt.Sprintf("%s fail %s output=%q", name, entries[i].State, reason))
	}
	if p.One == "" {
		var unmatched []string
		for _, x := range p.Exclude {
			if !slices.ContainsFunc(entries, func(e StateEntry) bool { return e.Name == x }) {
				unmatched = append(unmatched, strconv.Quote(x))
			}
		}
		if len(unmatched) > 0 {
			lines = append(lines, "warn: some checks cannot be excluded: no matches for "+strings.Join(unmatched, ", "))
		}
	}
	kind := "readyz"
	if p.Live {
		kind = "livez"
	}
	if ok {
		lines = append(lines, kind+" check passed")
	} else {
		lines = append(lines, kind+" check failed")
		top = "status=fail"
	}
	if ok && !p.Verbose {
		lines = []string{"ok"} // the short body
	}
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	typ, length := "text/plain; charset=utf-8", "of the body"
	if p.json() {
		typ = AcceptHealthJSON
		if !p.Live && shut {
			top += ` output="shutdown has begun"`
		}
		slices.Sort(checks)
		lines = append([]string{top}, checks...)
	}
	if p.Method == http.MethodHead {
		length = "set"
		if !p.json() {
			n := 0
			for _, l := range lines {
				n += len(l) + 1
			}
			length = strconv.Itoa(n)
		}
		lines = nil
	}
	out.HTTP = fmt.Sprintf("%d type=%q cache=%q nosniff=%q vary=%q length %s", code, typ, "no-store", "nosniff", "Accept", length)
	out.Body = lines
	return out
}

// modelProbes fills the probe answers of the trace, from each service's
// changes of state (sorted by modelStates).
func modelProbes(s Schedule, ops [][]stateOp, tr *Trace) {
	for _, p := range s.Probes {
		entries := make([]StateEntry, 0, len(s.Services))
		untils := make([]time.Time, 0, len(s.Services))
		for i := range s.Services {
			entries = append(entries, stateAt(Name(i), ops[i], p.At))
			untils = append(untils, backoffUntil(ops[i], p.At))
		}
		tr.Probes = append(tr.Probes, modelProbe(s, p, entries, untils, shutSeen(s, tr, p.At)))
	}
}

// checkProbes holds each probe's answer against the model: the status,
// the headers, and the body line by line.
func checkProbes(_ Schedule, exp *Expectation, got *Trace) error {
	var v violations
	for j, want := range exp.Trace.Probes {
		if j >= len(got.Probes) {
			v.add("probe %d (%s): missing", j, want.Req)
			continue
		}
		have := got.Probes[j]
		if have.At != want.At || have.Req != want.Req {
			v.add("probe %d: %s at %v; want %s at %v", j, have.Req, fmtDur(have.At), want.Req, fmtDur(want.At))
		}
		if have.HTTP != want.HTTP {
			v.add("probe %s: got %s; want %s", want.Req, have.HTTP, want.HTTP)
		}
		for k := range max(len(have.Body), len(want.Body)) {
			switch {
			case k >= len(have.Body):
				v.add("probe %s, line %d: missing; want %q", want.Req, k, want.Body[k])
			case k >= len(want.Body):
				v.add("probe %s, line %d: got %q; want none", want.Req, k, have.Body[k])
			case have.Body[k] != want.Body[k]:
				v.add("probe %s, line %d: got %q; want %q", want.Req, k, have.Body[k], want.Body[k])
			}
		}
	}
	if len(got.Probes) > len(exp.Trace.Probes) {
		v.add("%d probe answers; want %d", len(got.Probes), len(exp.Trace.Probes))
	}
	for k := range max(len(got.GiveUpProbes), len(exp.Trace.GiveUpProbes)) {
		switch {
		case k >= len(got.GiveUpProbes):
			v.add("probe at a give-up %d: missing; want %s", k, exp.Trace.GiveUpProbes[k])
		case k >= len(exp.Trace.GiveUpProbes):
			v.add("probe at a give-up %d: got %s; want none", k, got.GiveUpProbes[k])
		case !slices.Equal(got.GiveUpProbes[k].Body, exp.Trace.GiveUpProbes[k].Body) ||
			got.GiveUpProbes[k].HTTP != exp.Trace.GiveUpProbes[k].HTTP || got.GiveUpProbes[k].Req != exp.Trace.GiveUpProbes[k].Req:
			v.add("probe at a give-up: got %s; want %s", got.GiveUpProbes[k], exp.Trace.GiveUpProbes[k])
		}
	}
	return v.err()
}
