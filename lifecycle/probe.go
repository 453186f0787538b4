package lifecycle

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LivenessHandler returns an http.Handler for a kubelet's liveness probe,
// following the Kubernetes API server's /livez: 200 OK while m is live, 503
// Service Unavailable when it is not. m is not live when a service has
// given up (see [RestartLimit]) and nothing escalates it: the service is
// not [Essential], or it is but the program runs under [Manager.Run] rather
// than [Manager.Serve]. A restart of the container is then the only
// restart it will get. Once shutdown has begun m is live whatever its
// services did: the process is already on its way out. The rules are
// docs/contract.md, C10.
//
//	mux.Handle("/livez", lifecycle.LivenessHandler(m))
//	mux.Handle("/livez/{service...}", lifecycle.LivenessHandler(m))
//
// The body is plain text: "ok" when live; with ?verbose, or when not live,
// one line per service ("[+]cache ok", "[-]db failed: gave up at ...")
// and "livez check passed" or "livez check failed". ?exclude=name, which
// may be repeated, leaves a service out. A request whose path value
// "service" is set (a pattern ending in {service...}) checks only that
// service, and gets 404 Not Found if there is none by that name. A request
// whose Accept header names application/health+json gets the IETF health
// check format instead (status "pass" or "fail", and a checks object keyed
// by service name).
//
// It answers GET and HEAD (the same headers, no body), with
// Cache-Control: no-store; any other method gets 405 Method Not Allowed
// with Allow: GET, HEAD. It reads only the services' states, as
// [Manager.States] does, and calls nothing a service provides, so it never
// waits for a service; it is safe for concurrent use. It panics if m is nil.
func LivenessHandler(m *Manager) http.Handler {
	if m == nil {
		panic("lifecycle: LivenessHandler(nil)")
	}
	return probe{m: m, live: true}
}

// ReadinessHandler returns an http.Handler for a kubelet's readiness probe,
// following the Kubernetes API server's /readyz: 200 OK while m is ready,
// 503 Service Unavailable when it is not. m is ready when shutdown has not
// begun (the drain of [WithDrain] is shutdown) and every service checked is
// ready: running and ready (see [NotifyReady]), or finished for good with
// [ErrFinished]. A service that is starting, backing off, has given up or
// has not been started yet is not ready. The rules are docs/contract.md,
// C10.
//
//	mux.Handle("/readyz", lifecycle.ReadinessHandler(m))
//	mux.Handle("/readyz/{service...}", lifecycle.ReadinessHandler(m))
//
// The body, the query parameters, the per-service path, the methods and
// the headers are those of [LivenessHandler], with "readyz" for "livez";
// the verbose lines begin with the shutdown check ("[+]shutdown ok", or
// "[-]shutdown failed: shutdown has begun"), which no exclusion removes
// and which a per-service path checks too, so that every readiness path a
// kubelet may be given fails during the drain. It panics if m is nil.
func ReadinessHandler(m *Manager) http.Handler {
	if m == nil {
		panic("lifecycle: ReadinessHandler(nil)")
	}
	return probe{m: m}
}

// probe is a liveness or readiness handler.
type probe struct {
	m    *Manager
	live bool // liveness; readiness otherwise
}

// healthJSON is the media type of the IETF draft "Health Check Response
// Format for HTTP APIs".
const healthJSON = "application/health+json"

// Header values shared by every answer, so that setting them allocates
// nothing. A handler further out may replace them, but must not write into
// them.
var (
	hdrText    = []string{"text/plain; charset=utf-8"}
	hdrJSON    = []string{healthJSON}
	hdrNoStore = []string{"no-store"}
	hdrNoSniff = []string{"nosniff"}
	hdrAccept  = []string{"Accept"}
	hdrAllow   = []string{"GET, HEAD"}
)

// bufs holds the buffers the answers are built in.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooled is the largest buffer put back in bufs.
const maxPooled = 1 << 20

// A request: what it asks and how it is answered.
type request struct {
	verbose bool
	json    bool
	one     string      // the service of a per-service path; "" for all
	exclude []exclusion // one per ?exclude
}

// exclusion is one ?exclude=name.
type exclusion struct {
	name  string
	found bool // it names a service
}

// verdict is one service's answer.
type verdict struct {
	ok    bool
	state State
	at    time.Time // when it entered state; for backing off, when it restarts
}

func (p probe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	if !getOrHead(w, r) {
		return
	}
	q := p.parse(r)

	// Take the services, and what decides escalation, in one look.
	m := p.m
	m.mu.Lock()
	services, serving := m.list(), m.serving
	m.mu.Unlock()
	shut := m.shuttingDown()
	if q.one != "" {
		i := indexOf(services, q.one)
		if i < 0 {
			http.Error(w, "lifecycle: no service "+strconv.Quote(q.one), http.StatusNotFound)
			return
		}
		services = services[i : i+1]
	}

	// The short answer needs no buffer: "ok", when all is well and no
	// one asked for more. Otherwise build the long one, and answer what
	// that reading found.
	body, ok := okBody, p.quick(services, &q, shut, serving)
	var bp *[]byte // the pooled buffer body was built in, if it was
	if !ok || q.verbose || q.json {
		bp = bufs.Get().(*[]byte)
		body, ok = p.build((*bp)[:0], services, &q, shut, serving)
	}

	hd["Content-Type"] = hdrText
	if q.json {
		hd["Content-Type"] = hdrJSON
	}
	hd["X-Content-Type-Options"] = hdrNoSniff
	hd["Vary"] = hdrAccept
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	answer(w, r, code, body)
	if bp != nil && cap(body) <= maxPooled {
		*bp = body[:0] // keep what it grew to
		bufs.Put(bp)
	}
}

var okBody = []byte("ok\n")

// parse reads what r asks: the per-service path value, ?verbose,
// ?exclude and the Accept header. It allocates only for exclusions, once.
func (p probe) parse(r *http.Request) request {
	var q request
	q.one = r.PathValue("service")
	q.json = strings.Contains(r.Header.Get("Accept"), healthJSON)
	n := 0
	for pass := 0; pass < 2; pass++ {
		if pass == 1 {
			if n == 0 || q.one != "" { // a per-service path excludes nothing
				break
			}
			q.exclude = make([]exclusion, 0, n)
		}
		for raw := r.URL.RawQuery; raw != ""; {
			var part string
			part, raw, _ = strings.Cut(raw, "&")
			key, value, _ := strings.Cut(part, "=")
			if k, err := url.QueryUnescape(key); err == nil {
				key = k
			}
			switch {
			case key == "verbose":
				q.verbose = true
			case key == "exclude" && pass == 0:
				n++
			case key == "exclude":
				if v, err := url.QueryUnescape(value); err == nil {
					q.exclude = append(q.exclude, exclusion{name: v})
				}
			}
		}
	}
	return q
}

// indexOf returns the index of the service named name, or -1.
func indexOf(services []*service, name string) int {
	for i, s := range services {
		if s.name == name {
			return i
		}
	}
	return -1
}

// excluded reports whether q leaves s out, and marks the exclusion found.
func (q *request) excluded(s *service) bool {
	out := false
	for i := range q.exclude {
		if e := &q.exclude[i]; e.name == s.name {
			e.found, out = true, true
		}
	}
	return out
}

// judge returns s's answer to the probe.
func (p probe) judge(s *service, shut, serving bool) verdict {
	s.mu.Lock()
	state, ready, since := s.st.state(), s.st.ready(), s.st.since
	var until time.Time
	essential := false
	if x := s.x; x != nil {
		if state == StateBackingOff && x.fail != nil {
			until = x.fail.backoffUntil
		}
		essential = x.cfg.essential
	}
	s.mu.Unlock()
	v := verdict{state: state, at: p.m.time(since)}
	if !until.IsZero() {
		v.at = until
	}
	if p.live {
		// C10.3: a service that gave up fails liveness unless something
		// escalates it, or shutdown, the escalation, has begun.
		escalates := serving && essential
		v.ok = state != StateGaveUp || escalates || shut
	} else {
		// C10.2: running and ready, or finished for good.
		v.ok = ready || state == StateFinished
	}
	return v
}

// quick reports whether every checked service passes, without building
// an answer.
func (p probe) quick(services []*service, q *request, shut, serving bool) bool {
	if shut && !p.live {
		return false
	}
	for _, s := range services {
		if q.excluded(s) {
			continue
		}
		if !p.judge(s, shut, serving).ok {
			return false
		}
	}
	return true
}

// build appends the long answer to buf, and reports whether every
// checked service passed.
func (p probe) build(buf []byte, services []*service, q *request, shut, serving bool) ([]byte, bool) {
	if q.json {
		return p.buildJSON(buf, services, q, shut, serving)
	}
	ok := true
	if !p.live {
		if shut {
			ok = false
			buf = append(buf, "[-]shutdown failed: shutdown has begun\n"...)
		} else {
			buf = append(buf, "[+]shutdown ok\n"...)
		}
	}
	for _, s := range services {
		if q.excluded(s) {
			buf = append(buf, "[+]"...)
			buf = append(buf, s.name...)
			buf = append(buf, " excluded: ok\n"...)
			continue
		}
		v := p.judge(s, shut, serving)
		if v.ok {
			buf = append(buf, "[+]"...)
			buf = append(buf, s.name...)
			buf = append(buf, " ok\n"...)
			continue
		}
		ok = false
		buf = append(buf, "[-]"...)
		buf = append(buf, s.name...)
		if p.live {
			buf = append(buf, " failed: "...)
		} else {
			buf = append(buf, " not ready: "...)
		}
		buf = appendReason(buf, v)
		buf = append(buf, '\n')
	}
	buf = q.appendUnmatched(buf)
	if p.live {
		buf = append(buf, "livez check "...)
	} else {
		buf = append(buf, "readyz check "...)
	}
	if ok {
		buf = append(buf, "passed\n"...)
	} else {
		buf = append(buf, "failed\n"...)
	}
	return buf, ok
}

// appendReason appends why v failed: "backing off until T", "gave up at
// T", "starting since T", "not started".
func appendReason(buf []byte, v verdict) []byte {
	switch v.state {
	case StateRegistered:
		return append(buf, "not started"...)
	case StateBackingOff:
		buf = append(buf, "backing off until "...)
	case StateGaveUp, StateStopped, StateAbandoned:
		buf = append(buf, v.state.String()...)
		buf = append(buf, " at "...)
	default:
		buf = append(buf, v.state.String()...)
		buf = append(buf, " since "...)
	}
	return v.at.UTC().AppendFormat(buf, time.RFC3339Nano)
}

// appendUnmatched appends a warning naming the exclusions that matched no
// service, as the API server does.
func (q *request) appendUnmatched(buf []byte) []byte {
	first := true
	for _, e := range q.exclude {
		if e.found {
			continue
		}
		if first {
			buf = append(buf, "warn: some checks cannot be excluded: no matches for "...)
			first = false
		} else {
			buf = append(buf, ", "...)
		}
		buf = strconv.AppendQuote(buf, e.name)
	}
	if !first {
		buf = append(buf, '\n')
	}
	return buf
}
