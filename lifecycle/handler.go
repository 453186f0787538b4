package lifecycle

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// HealthHandler returns an http.Handler that serves m.Health() as a JSON
// array of [WorkerHealth] (the shape of the /api/workers endpoint): `[]`
// when no service reports health, times in RFC 3339, and last_success and
// last_failure left out until they happen. Mount it where you like:
//
//	http.Handle("GET /api/workers", lifecycle.HealthHandler(m))
//
// It answers GET and HEAD (the same headers, no body) with 200 OK,
// Content-Type: application/json and Cache-Control: no-store, whatever the
// health it reports: a reader decides from consecutive_failures and the
// times what is unhealthy. Any other method gets 405 Method Not Allowed with
// Allow: GET, HEAD. Every request reads the health afresh; the handler is
// safe for concurrent use.
//
// [Manager.Health] calls each reporter, so it takes as long as the slowest
// one. The handler waits for it only as long as the request's context
// lasts: if that ends first (the client went away, or a server timeout),
// it answers 503 Service Unavailable, and the reading finishes on its own
// goroutine.
func HealthHandler(m *Manager) http.Handler {
	if m == nil {
		panic("lifecycle: HealthHandler(nil)")
	}
	return healthHandler{m}
}

type healthHandler struct{ m *Manager }

func (h healthHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !getOrHead(w, r) {
		return
	}
	health := make(chan []WorkerHealth, 1)
	go func() { health <- h.m.Health() }()
	var list []WorkerHealth
	select {
	case list = <-health:
	case <-r.Context().Done():
		http.Error(w, "lifecycle: health not read before the request ended", http.StatusServiceUnavailable)
		return
	}
	body, err := json.Marshal(list)
	if err != nil {
		// Only a time outside years 0-9999 (from a strange Clock) gets here.
		http.Error(w, "lifecycle: encoding health: "+err.Error(), http.StatusInternalServerError)
		return
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	answer(w, r, http.StatusOK, body)
}

// getOrHead sets Cache-Control: no-store, the header of every answer of
// the package's handlers, and reports whether r's method is GET or HEAD;
// for any other it answers 405 Method Not Allowed with Allow: GET, HEAD.
func getOrHead(w http.ResponseWriter, r *http.Request) bool {
	hd := w.Header()
	hd["Cache-Control"] = hdrNoStore
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	hd["Allow"] = hdrAllow
	http.Error(w, "lifecycle: method not allowed", http.StatusMethodNotAllowed)
	return false
}

// answer writes code and body with its Content-Length; a HEAD request gets
// the same headers and no body.
func answer(w http.ResponseWriter, r *http.Request, code int, body []byte) {
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
