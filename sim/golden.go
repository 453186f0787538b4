package sim

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lifecyclesim/lifecycle/lifecycle"
)

// Golden is one case of the golden corpus (testdata/golden, described in
// docs/golden.md): a schedule and the trace it must give, as text that an
// implementation of the contract in any language can read.
type Golden struct {
	Name     string   // the case's name: the file's base name
	Rules    []string // the contract rules it exercises, "C2.7" ...
	Notes    []string // what it shows, one line each
	Schedule Schedule
	Trace    string // the expected trace, as GoldenTrace renders it
}

// ParseGolden reads a golden file. Its errors name the line.
func ParseGolden(text string) (*Golden, error) {
	g := &Golden{}
	head, rest, ok := strings.Cut(text, "\nschedule:\n")
	if !ok {
		return nil, errors.New("golden: no \"schedule:\" line")
	}
	sched, trace, ok := strings.Cut(rest, "\ntrace:\n")
	if !ok {
		return nil, errors.New("golden: no \"trace:\" line after \"schedule:\"")
	}
	g.Trace = trace
	for n, line := range strings.Split(head, "\n") {
		key, val, _ := strings.Cut(line, " ")
		switch {
		case line == "":
		case n == 0 && key == "case" && val != "":
			g.Name = val
		case n == 0:
			return nil, errors.New("golden: line 1: want \"case <name>\"")
		case key == "rules" && g.Rules == nil:
			g.Rules = strings.Fields(val)
		case key == "note":
			g.Notes = append(g.Notes, val)
		default:
			return nil, fmt.Errorf("golden: line %d: want \"rules ...\" once, then \"note ...\" lines: %q", n+1, line)
		}
	}
	if len(g.Rules) == 0 {
		return nil, errors.New("golden: no \"rules\" line")
	}
	var err error
	if g.Schedule, err = parseSchedule(sched, strings.Count(head, "\n")+3); err != nil {
		return nil, err
	}
	return g, nil
}

// Format writes g as a golden file: the header, the schedule in its
// canonical form, and the trace.
func (g *Golden) Format() (string, error) {
	sched, err := FormatSchedule(g.Schedule)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "case %s\nrules %s\n", g.Name, strings.Join(g.Rules, " "))
	for _, n := range g.Notes {
		fmt.Fprintf(&b, "note %s\n", n)
	}
	fmt.Fprintf(&b, "\nschedule:\n%s\ntrace:\n%s", sched, g.Trace)
	return b.String(), nil
}

// FormatSchedule writes s in the golden format, canonically: one fact per
// line, top-level lines first in a fixed order, then each service. It fails
// on the features the format cannot express yet (docs/golden.md).
func FormatSchedule(s Schedule) (string, error) {
	switch {
	case len(s.Misuse) > 0:
		return "", errors.New("golden: misuse is not yet in the format")
	case s.Logger != LoggerWith || s.LoggerSwitchAt != 0:
		return "", errors.New("golden: the default logger is not yet in the format")
	case slices.ContainsFunc(s.HealthVia, func(v string) bool { return v != ViaCall }):
		return "", errors.New("golden: health samples over HTTP are not yet in the format")
	case s.Gate < 0:
		return "", errors.New("golden: a gated start is WithGatedStart(t), t > 0")
	case s.GiveUpProbes:
		return "", errors.New("golden: probes from the GaveUp event are not yet in the format")
	case s.Drain < 0 || (s.Drain > 0 && !s.ordered()):
		return "", errors.New("golden: a drain is WithDrain(d), d > 0, with an ordered shutdown or Serve")
	}
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	if o := s.Backoff; o != nil {
		line("backoff initial=%s maximum=%s reset=%s", goldenDur(o.Initial), goldenDur(o.Maximum), goldenDur(o.Reset))
	}
	if j := s.Jitter; j != nil {
		line("jitter fraction=%s draw=%s", goldenFloat(j.Fraction), goldenFloat(j.R))
	}
	if o := s.Rebackoff; o != nil {
		line("setbackoff at=%s initial=%s maximum=%s reset=%s", goldenDur(s.RebackoffAt), goldenDur(o.Initial), goldenDur(o.Maximum), goldenDur(o.Reset))
	}
	line("cancel at=%s", goldenDur(s.CancelAt))
	if s.Serve {
		// Serve(ctx, timeout) instead of Run and Shutdown: there is no
		// Shutdown call to time, nor a second one.
		line("serve timeout=%s", goldenDur(s.StopTimeout))
	} else {
		line("shutdown at=%s timeout=%s", goldenDur(s.StopAt), goldenDur(s.StopTimeout))
		if s.Stop2 {
			line("shutdown-again at=%s", goldenDur(s.Stop2At))
		}
	}
	if s.Ordered {
		line("ordered")
	}
	if s.Drain > 0 && s.ordered() {
		line("drain d=%s", goldenDur(s.Drain))
	}
	if s.Gate > 0 {
		line("gate timeout=%s", goldenDur(s.Gate))
	}
	for _, at := range s.HealthAt {
		line("sample at=%s", goldenDur(at))
	}
	for _, at := range s.StatesAt {
		line("states at=%s", goldenDur(at))
	}
	for _, p := range s.Probes {
		req, err := goldenProbe(p)
		if err != nil {
			return "", err
		}
		line("probe at=%s %s", goldenDur(p.At), req)
	}
	for i, sv := range s.Services {
		if sv.Worker != nil {
			return "", fmt.Errorf("golden: %s: Workers are not yet in the format", Name(i))
		}
		line("service %s", Name(i))
		if l := sv.Limit; l != nil {
			line("  limit n=%d window=%s", l.N, goldenDur(l.Window))
		}
		if sv.Essential {
			line("  essential")
		}
		if sv.NotifyReady {
			line("  notify-ready")
		}
		for _, st := range sv.Steps {
			ready := ""
			if sv.NotifyReady {
				ready = " ready=" + goldenStamp(st.Ready)
			}
			switch {
			case st.Wait && st.Honour:
				line("  run wait%s", ready)
			case st.Wait:
				line("  run wait+%s %s%s", goldenDur(st.Run), endShape(st.End, st.Shape), ready)
			case st.Honour:
				line("  run %s honour %s%s", goldenDur(st.Run), endShape(st.End, st.Shape), ready)
			default:
				line("  run %s %s%s", goldenDur(st.Run), endShape(st.End, st.Shape), ready)
			}
		}
		if sp := sv.Stopper; sp != nil {
			switch {
			case sp.Block:
				line("  stop block")
			case sp.Honour:
				line("  stop %s honour %s", goldenDur(sp.Took), endShape(sp.End, sp.Shape))
			default:
				line("  stop %s %s", goldenDur(sp.Took), endShape(sp.End, sp.Shape))
			}
		}
		if h := sv.Health; h != nil {
			switch {
			case h.Tracker && h.Calls == TrackSuccessFailure:
				line("  health tracker")
			case h.Tracker:
				line("  health tracker %s", h.Calls)
			}
			for _, p := range h.Pieces {
				if p.Panic {
					line("  health piece until=%s panic", goldenDur(p.Until))
					continue
				}
				line("  health piece until=%s name=%s ok=%s fail=%s error=%s failures=%d", goldenDur(p.Until),
					goldenQuote(p.Name), goldenStamp(p.LastSuccess), goldenStamp(p.LastFailure), goldenQuote(p.LastError), p.Failures)
			}
		}
	}
	return b.String(), nil
}

// ParseSchedule reads a schedule written by [FormatSchedule], or by hand
// in the same format.
func ParseSchedule(text string) (Schedule, error) { return parseSchedule(text, 1) }

// parseSchedule reads a schedule whose first line is line first of its
// file.
func parseSchedule(text string, first int) (Schedule, error) {
	var s Schedule
	var sv *Service
	seen := map[string]bool{}
	for n, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		fields, err := goldenFields(line)
		if err == nil {
			err = parseGoldenLine(&s, &sv, seen, fields)
		}
		if err != nil {
			return Schedule{}, fmt.Errorf("golden: line %d: %v: %q", first+n, err, line)
		}
	}
	switch {
	case !seen["cancel"]:
		return Schedule{}, errors.New("golden: the schedule has no \"cancel\" line")
	case !seen["shutdown"] && !seen["serve"]:
		return Schedule{}, errors.New("golden: the schedule has no \"shutdown\" or \"serve\" line")
	case seen["shutdown"] && seen["serve"]:
		return Schedule{}, errors.New("golden: the schedule has both \"shutdown\" and \"serve\": Serve makes its own shutdown")
	case seen["shutdown-again"] && seen["serve"]:
		return Schedule{}, errors.New("golden: \"shutdown-again\" is not for a schedule with \"serve\"")
	case seen["drain"] && !s.ordered():
		return Schedule{}, errors.New("golden: \"drain\" needs \"ordered\" or \"serve\"")
	}
	return s, nil
}

// parseGoldenLine reads one line of a schedule into s; *sv is the service
// being read, nil before the first "service" line.
func parseGoldenLine(s *Schedule, sv **Service, seen map[string]bool, f []string) error {
	key, args := f[0], f[1:]
	if *sv == nil && key != "service" {
		if seen[key] && key != "sample" && key != "states" && key != "probe" {
			return errors.New("repeated")
		}
		seen[key] = true
	}
	switch {
	case key == "service":
		if len(args) != 1 || args[0] != Name(len(s.Services)) {
			return fmt.Errorf("want \"service %s\": services are named in order", Name(len(s.Services)))
		}
		s.Services = append(s.Services, Service{})
		*sv = &s.Services[len(s.Services)-1]
		return nil
	case *sv != nil:
		return parseGoldenService(*sv, key, args)
	case key == "probe":
		p, err := parseGoldenProbe(args)
		s.Probes = append(s.Probes, p)
		return err
	case key == "ordered":
		if len(args) != 0 {
			return errors.New("want \"ordered\", with no fields")
		}
		s.Ordered = true
		return nil
	}
	kv, err := goldenKeyValues(args)
	if err != nil {
		return err
	}
	switch key {
	case "backoff":
		s.Backoff = &Backoff{}
		return kv.read("initial", &s.Backoff.Initial, "maximum", &s.Backoff.Maximum, "reset", &s.Backoff.Reset)
	case "jitter":
		s.Jitter = &Jitter{}
		return kv.read("fraction", &s.Jitter.Fraction, "draw", &s.Jitter.R)
	case "setbackoff":
		s.Rebackoff = &Backoff{}
		return kv.read("at", &s.RebackoffAt, "initial", &s.Rebackoff.Initial, "maximum", &s.Rebackoff.Maximum, "reset", &s.Rebackoff.Reset)
	case "cancel":
		return kv.read("at", &s.CancelAt)
	case "shutdown":
		return kv.read("at", &s.StopAt, "timeout", &s.StopTimeout)
	case "shutdown-again":
		s.Stop2 = true
		return kv.read("at", &s.Stop2At)
	case "serve":
		s.Serve = true
		return kv.read("timeout", &s.StopTimeout)
	case "drain":
		if err := kv.read("d", &s.Drain); err != nil {
			return err
		}
		if s.Drain <= 0 {
			return errors.New("a drain is WithDrain(d) with d > 0")
		}
		return nil
	case "gate":
		if err := kv.read("timeout", &s.Gate); err != nil {
			return err
		}
		if s.Gate <= 0 {
			return errors.New("a gated start is WithGatedStart(t) with t > 0")
		}
		return nil
	case "sample":
		var at time.Duration
		err := kv.read("at", &at)
		s.HealthAt = append(s.HealthAt, at)
		return err
	case "states":
		var at time.Duration
		err := kv.read("at", &at)
		s.StatesAt = append(s.StatesAt, at)
		return err
	}
	return errors.New("unknown line")
}

// parseGoldenService reads one line about service sv.
func parseGoldenService(sv *Service, key string, args []string) error {
	switch {
	case key == "limit":
		if sv.Limit != nil {
			return errors.New("a second \"limit\" line")
		}
		kv, err := goldenKeyValues(args)
		if err != nil {
			return err
		}
		sv.Limit = &Limit{}
		if err := kv.read("n", &sv.Limit.N, "window", &sv.Limit.Window); err != nil {
			return err
		}
		if sv.Limit.N < 1 || sv.Limit.Window <= 0 {
			return errors.New("RestartLimit(n, window) wants n >= 1 and window > 0")
		}
		return nil
	case key == "essential":
		if sv.Essential || len(args) != 0 {
			return errors.New("want one \"essential\" line, with no fields")
		}
		sv.Essential = true
		return nil
	case key == "notify-ready":
		if sv.NotifyReady || len(args) != 0 || len(sv.Steps) > 0 {
			return errors.New("want one \"notify-ready\" line, with no fields, before the \"run\" lines")
		}
		sv.NotifyReady = true
		return nil
	case key == "run":
		ready, args, err := cutGoldenReady(sv, args)
		if err != nil {
			return err
		}
		return parseGoldenRun(sv, args, ready)
	case key == "stop" && sv.Stopper != nil:
		return errors.New("a second \"stop\" line")
	case key == "stop" && len(args) == 1 && args[0] == "block":
		sv.Stopper = &StopStep{Block: true}
		return nil
	case key == "stop":
		sp := &StopStep{}
		if len(args) == 3 && args[1] == "honour" {
			sp.Honour, args = true, []string{args[0], args[2]}
		}
		if len(args) != 2 {
			return errors.New("want \"stop <duration> [honour] <outcome>\" or \"stop block\"")
		}
		var err error
		if sp.Took, err = parseGoldenDur(args[0]); err != nil {
			return err
		}
		sp.End, sp.Shape, err = parseGoldenEnd(args[1], StopShapes, Nil, Error, Panic, Goexit)
		sv.Stopper = sp
		return err
	case key == "health" && len(args) >= 1 && args[0] == "tracker":
		if sv.Health != nil || len(args) > 2 {
			return errors.New("want one \"health tracker [record|failure-nil]\" line, and no pieces")
		}
		sv.Health = &HealthPlan{Tracker: true}
		if len(args) == 2 {
			sv.Health.Calls = TrackerCalls(args[1])
			if sv.Health.Calls != TrackRecord && sv.Health.Calls != TrackFailureNil {
				return errors.New("unknown Tracker calls")
			}
		}
		return nil
	case key == "health" && len(args) >= 1 && args[0] == "piece":
		if sv.Health == nil {
			sv.Health = &HealthPlan{}
		}
		if sv.Health.Tracker {
			return errors.New("a service with a tracker has no health pieces")
		}
		return parseGoldenPiece(sv.Health, args[1:])
	}
	return errors.New("unknown line in a service")
}

// cutGoldenReady cuts the "ready=<instant>" field that ends each "run" line
// of a notify-ready service: when, after the call, its Run calls Ready
// ("never": it does not). Without the field, at once.
func cutGoldenReady(sv *Service, args []string) (time.Duration, []string, error) {
	if len(args) == 0 {
		return 0, args, nil
	}
	v, ok := strings.CutPrefix(args[len(args)-1], "ready=")
	if !ok {
		return 0, args, nil
	}
	if !sv.NotifyReady {
		return 0, nil, errors.New("\"ready=\" is for a service with \"notify-ready\" before its \"run\" lines")
	}
	d, err := parseGoldenStamp(v)
	if err == nil && d < 0 && d != Unset {
		err = errors.New("\"ready=\" wants an instant after the call, or never")
	}
	return d, args[:len(args)-1], err
}

// parseGoldenRun reads the fields of a "run" line, less its "ready=".
func parseGoldenRun(sv *Service, args []string, ready time.Duration) error {
	if len(args) == 1 && args[0] == "wait" {
		sv.Steps = append(sv.Steps, Step{Wait: true, Honour: true, Ready: ready})
		return nil
	}
	st := Step{Ready: ready}
	if len(args) == 3 && args[1] == "honour" {
		st.Honour, args = true, []string{args[0], args[2]}
	}
	if len(args) != 2 {
		return errors.New("want \"run <duration> [honour] <outcome>\", \"run wait\" or \"run wait+<duration> <outcome>\", then \"ready=\" with \"notify-ready\"")
	}
	d, wait := strings.CutPrefix(args[0], "wait+")
	if wait && st.Honour {
		return errors.New("\"run wait+<duration>\" ignores ctx: it cannot honour it")
	}
	var err error
	st.Wait = wait
	if st.Run, err = parseGoldenDur(d); err != nil {
		return err
	}
	st.End, st.Shape, err = parseGoldenEnd(args[1], Shapes, Nil, Error, Panic, Goexit, Finished)
	sv.Steps = append(sv.Steps, st)
	return err
}

// goldenProbe writes a probe's request, less its instant: "<method>
// <path>[?<query>][ accept=<string>]", the path and query as the sim
// makes them (Probe.target).
func goldenProbe(p Probe) (string, error) {
	switch {
	case p.Method != http.MethodGet && p.Method != http.MethodHead && p.Method != http.MethodPost:
		return "", fmt.Errorf("golden: probe method %q: want GET, HEAD or POST", p.Method)
	case p.One != "" && (strings.ContainsAny(p.One, "/?\" \t\n") || !isPrintable(p.One)):
		return "", fmt.Errorf("golden: probe of the service %q: not a name the format can write in a path", p.One)
	}
	path, query := p.target()
	if query != "" {
		path += "?" + query
	}
	req := p.Method + " " + path
	if p.Accept != "" {
		req += " accept=" + goldenQuote(p.Accept)
	}
	return req, nil
}

// isPrintable says whether s has only printable ASCII.
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// parseGoldenProbe reads the fields of a "probe" line: what goldenProbe
// writes, after "at=<duration>".
func parseGoldenProbe(args []string) (Probe, error) {
	var p Probe
	if len(args) < 3 || len(args) > 4 {
		return p, errors.New("want \"probe at=<duration> <method> <path>[?<query>] [accept=<string>]\"")
	}
	at, ok := strings.CutPrefix(args[0], "at=")
	if !ok {
		return p, errors.New("want \"at=<duration>\" first")
	}
	var err error
	if p.At, err = parseGoldenDur(at); err != nil {
		return p, err
	}
	p.Method = args[1]
	if p.Method != http.MethodGet && p.Method != http.MethodHead && p.Method != http.MethodPost {
		return p, fmt.Errorf("probe method %q: want GET, HEAD or POST", p.Method)
	}
	if len(args) == 4 {
		v, ok := strings.CutPrefix(args[3], "accept=")
		if !ok {
			return p, errors.New("want \"accept=<string>\" last")
		}
		if p.Accept, err = goldenUnquote(v); err != nil {
			return p, err
		}
		if p.Accept == "" {
			return p, errors.New("accept=\"\": leave the field out for no Accept header")
		}
	}
	path, query, hasQuery := strings.Cut(args[2], "?")
	switch {
	case path == "/livez" || strings.HasPrefix(path, "/livez/"):
		p.Live, path = true, path[len("/livez"):]
	case path == "/readyz" || strings.HasPrefix(path, "/readyz/"):
		path = path[len("/readyz"):]
	default:
		return p, fmt.Errorf("probe path %q: want /livez, /readyz, /livez/<service> or /readyz/<service>", args[2])
	}
	if path != "" {
		if p.One = path[1:]; p.One == "" || strings.Contains(p.One, "/") {
			return p, fmt.Errorf("probe path %q: want one service name after the probe's path", args[2])
		}
	}
	if hasQuery {
		for k, q := range strings.Split(query, "&") {
			x, isExclude := strings.CutPrefix(q, "exclude=")
			switch {
			case q == "verbose" && k == 0:
				p.Verbose = true
			case isExclude:
				name, err := url.QueryUnescape(x)
				if err != nil || slices.Contains(p.Exclude, name) {
					return p, fmt.Errorf("probe query %q: a bad or repeated exclude", query)
				}
				p.Exclude = append(p.Exclude, name)
			default:
				return p, fmt.Errorf("probe query %q: want [verbose][&exclude=<name>]..., verbose first", query)
			}
		}
	}
	return p, nil
}

// parseGoldenPiece reads the fields of a "health piece" line.
func parseGoldenPiece(h *HealthPlan, args []string) error {
	p := HealthPiece{}
	if len(args) == 2 && args[1] == "panic" {
		p.Panic, args = true, args[:1]
	}
	kv, err := goldenKeyValues(args)
	if err != nil {
		return err
	}
	var ok, fail string
	if p.Panic {
		err = kv.read("until", &p.Until)
	} else {
		err = kv.read("until", &p.Until, "name", &p.Name, "ok", &ok, "fail", &fail, "error", &p.LastError, "failures", &p.Failures)
	}
	if err == nil && !p.Panic {
		p.LastSuccess, err = parseGoldenStamp(ok)
		if err == nil {
			p.LastFailure, err = parseGoldenStamp(fail)
		}
	}
	h.Pieces = append(h.Pieces, p)
	return err
}

// parseGoldenEnd reads "<outcome>[/<shape>]", the outcome one of allowed
// and the shape one of shapes[outcome].
func parseGoldenEnd(s string, shapes map[Outcome][]string, allowed ...Outcome) (Outcome, string, error) {
	o, shape, _ := strings.Cut(s, "/")
	if !slices.Contains(allowed, Outcome(o)) {
		return "", "", fmt.Errorf("unknown outcome %q", o)
	}
	if shape != "" && !slices.Contains(shapes[Outcome(o)], shape) {
		return "", "", fmt.Errorf("unknown shape %q of %s", shape, o)
	}
	return Outcome(o), shape, nil
}

// goldenValues are the key=value fields of a line.
type goldenValues map[string]string

func goldenKeyValues(args []string) (goldenValues, error) {
	kv := goldenValues{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if _, dup := kv[k]; !ok || dup {
			return nil, fmt.Errorf("want distinct key=value fields, got %q", a)
		}
		kv[k] = v
	}
	return kv, nil
}

// read reads the fields named by pairs of (key, pointer): every key must be
// there, and no other. A *time.Duration reads a duration, a *float64 a
// float, an *int an integer; a *string gets the quoted string of name and
// error, and any other field as written (an instant, for parseGoldenStamp).
func (kv goldenValues) read(pairs ...any) error {
	if len(kv) != len(pairs)/2 {
		var keys []string
		for i := 0; i < len(pairs); i += 2 {
			keys = append(keys, pairs[i].(string))
		}
		return fmt.Errorf("want exactly the fields %s", strings.Join(keys, " "))
	}
	for i := 0; i < len(pairs); i += 2 {
		key := pairs[i].(string)
		v, ok := kv[key]
		if !ok {
			return fmt.Errorf("no field %s", key)
		}
		var err error
		switch p := pairs[i+1].(type) {
		case *time.Duration:
			*p, err = parseGoldenDur(v)
		case *float64:
			*p, err = strconv.ParseFloat(v, 64)
		case *int:
			*p, err = strconv.Atoi(v)
		case *string:
			*p, err = v, nil
			if key == "name" || key == "error" {
				*p, err = goldenUnquote(v)
			}
		}
		if err != nil {
			return fmt.Errorf("field %s: %v", key, err)
		}
	}
	return nil
}

// goldenFields splits a line at spaces, except inside double quotes.
func goldenFields(line string) ([]string, error) {
	var fields []string
	var cur strings.Builder
	quoted, escaped := false, false
	for _, r := range line {
		switch {
		case escaped:
			escaped = false
		case quoted && r == '\\':
			escaped = true
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ' ' || r == '\t'):
			if cur.Len() > 0 {
				fields = append(fields, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if quoted {
		return nil, errors.New("unterminated string")
	}
	if cur.Len() > 0 {
		fields = append(fields, cur.String())
	}
	return fields, nil
}

// goldenUnits are the units of a duration, largest first.
var goldenUnits = []struct {
	name string
	d    time.Duration
}{{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}, {"us", time.Microsecond}, {"ns", 1}}

// goldenDur writes d exactly, as an integer and the largest unit that
// divides it: 0s, 90s, 2m, 1500ms, -7ns, 9223372036854775807ns. Go's
// time.ParseDuration reads it back.
func goldenDur(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	for _, u := range goldenUnits {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	panic("unreachable")
}

// parseGoldenDur reads what goldenDur writes: an optional '-', decimal
// digits and one unit.
func parseGoldenDur(s string) (time.Duration, error) {
	num := strings.TrimRight(s, "hmsun")
	for _, u := range goldenUnits {
		if s[len(num):] != u.name {
			continue
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || num == "" || num[0] == '+' {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		d := time.Duration(v) * u.d
		if v != 0 && d/u.d != time.Duration(v) {
			return 0, fmt.Errorf("duration %q overflows", s)
		}
		return d, nil
	}
	return 0, fmt.Errorf("bad duration %q: want an integer and one of h, m, s, ms, us, ns", s)
}

// goldenStamp writes a point in virtual time: "never" for Unset.
func goldenStamp(d time.Duration) string {
	if d == Unset {
		return "never"
	}
	return goldenDur(d)
}

func parseGoldenStamp(s string) (time.Duration, error) {
	if s == "never" {
		return Unset, nil
	}
	return parseGoldenDur(s)
}

// goldenFloat writes f as the shortest decimal that reads back as f, or NaN,
// +Inf, -Inf.
func goldenFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// goldenQuote writes s between double quotes, escaping only \ " and the control
// characters (\n, \t, \r, else \xHH); other bytes, UTF-8 included, are
// written as they are.
func goldenQuote(s string) string {
	b := []byte{'"'}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '"':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c < 0x20 || c == 0x7f:
			b = append(b, fmt.Sprintf(`\x%02x`, c)...)
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}

// goldenUnquote reads what goldenQuote writes.
func goldenUnquote(q string) (string, error) {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return "", fmt.Errorf("want a quoted string, got %s", q)
	}
	var b []byte
	for i := 1; i < len(q)-1; i++ {
		c := q[i]
		if c == '"' {
			return "", errors.New("unescaped \" in a string")
		}
		if c != '\\' {
			b = append(b, c)
			continue
		}
		if i++; i == len(q)-1 {
			return "", errors.New("string ends in \\")
		}
		switch q[i] {
		case '\\', '"':
			b = append(b, q[i])
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case 'x':
			if i+2 > len(q)-2 {
				return "", errors.New("short \\x escape")
			}
			v, err := strconv.ParseUint(q[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf("bad \\x escape: %v", err)
			}
			b, i = append(b, byte(v)), i+2
		default:
			return "", fmt.Errorf("unknown escape \\%c", q[i])
		}
	}
	return string(b), nil
}

// GoldenTrace renders t in the golden format (docs/golden.md): one fact
// per line, each starting with what it is about, every time exact, every
// text quoted. Workers' ticks, HTTP answers of HealthHandler, the probes
// asked at each give-up and misuse are left out: they are not yet in the
// format. The lines of an ordered shutdown, the give-ups, Serve's error,
// the States samples and the probes appear only when the trace has them,
// and a start timeout's error (C9.4) has a text no other error has, so a
// schedule without those features renders as it did before they were in
// the format.
func GoldenTrace(t *Trace) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("names %s", strings.Join(t.Names, " "))
	for i, s := range t.Services {
		name := Name(i)
		for k, a := range s.Attempts {
			line("%s attempt #%d %s..%s %s %s%s", name, k+1, goldenDur(a.Start), goldenDur(a.End), a.Outcome, goldenQuote(a.Detail), goldenFlag(a.Canceled, " canceled"))
		}
		for _, c := range s.Stops {
			if c.Returned == Unset {
				line("%s stop called=%s deadline=%s returned=never", name, goldenDur(c.Called), goldenDur(c.Deadline))
				continue
			}
			line("%s stop called=%s deadline=%s returned=%s %s %s%s", name, goldenDur(c.Called), goldenDur(c.Deadline), goldenDur(c.Returned),
				c.Outcome, goldenQuote(c.Detail), goldenFlag(c.CtxDone, " ctx-done"))
		}
		for _, e := range s.Events {
			ev := fmt.Sprintf("%s event %s %s", name, goldenDur(e.At), e.Kind)
			if e.Attempt != 0 {
				ev += fmt.Sprintf(" #%d", e.Attempt)
			}
			switch {
			case e.Kind == "GaveUp":
				ev += " " + goldenGiveUp(name, e.Outcome, e.Detail)
			case e.Outcome != "":
				ev += fmt.Sprintf(" %s %s", e.Outcome, goldenError(name, e.Detail))
			}
			line("%s d=%s%s", ev, goldenDur(e.Duration), goldenFlag(e.Canceled, " canceled"))
		}
		for _, l := range s.Logs {
			line("%s log %s %s%s%s", name, goldenDur(l.At), l.Level, goldenFlag(l.Stack, " stack"), goldenFlag(l.Hostile, " error-method-panicked"))
		}
	}
	line("run returned=%s", goldenStamp(t.RunReturned))
	st := t.Stop
	line("shutdown returned=%s start=%s end=%s timeout=%s budget=%s", goldenStamp(st.Returned), goldenStamp(st.Start), goldenStamp(st.End),
		goldenDur(st.Timeout), goldenDur(st.Budget))
	for _, r := range st.Results {
		verdict := "abandoned"
		if !r.Abandoned {
			verdict = "in-time " + string(r.Outcome)
		}
		line("shutdown stopper %s called=%s deadline=%s elapsed=%s %s %s", r.Service, goldenStamp(r.Called), goldenStamp(r.Deadline),
			goldenDur(r.Elapsed), verdict, goldenQuote(r.Err))
	}
	if st.Drain != 0 || st.Services != nil {
		line("shutdown drain=%s", goldenDur(st.Drain))
	}
	for _, ss := range st.Services {
		stop := "no-stopper"
		if ss.Stopper {
			stop = "stopper abandoned"
			if !ss.Stop.Abandoned {
				stop = "stopper in-time " + string(ss.Stop.Outcome)
			}
			if ss.Stop.Service != ss.Service {
				stop += " not-in-stoppers" // the classifier found no such StopResult: never in a passing corpus
			}
		}
		line("shutdown turn %s began=%s deadline=%s run-ended=%s%s %s elapsed=%s %s", ss.Service, goldenStamp(ss.Began), goldenStamp(ss.Deadline),
			goldenStamp(ss.RunEnded), goldenFlag(ss.RunAbandoned, " run-abandoned"), stop, goldenDur(ss.Elapsed), goldenQuote(ss.Err))
	}
	if s2 := t.Stop2; s2 != nil {
		line("shutdown-again returned=%s%s", goldenStamp(s2.Returned), goldenFlag(s2.SameReport, " same-report"))
	}
	for _, g := range t.GaveUp {
		line("gave-up %s", goldenServiceAt(g))
	}
	for _, e := range t.ServeErr {
		if rest, ok := strings.CutPrefix(e, "gave up: "); ok {
			line("serve-error gave-up %s", goldenServiceAt(rest))
			continue
		}
		name, what, _ := strings.Cut(e, ": ")
		line("serve-error %s %s", name, goldenQuote(what))
	}
	for _, h := range t.Health {
		sample := fmt.Sprintf("sample at=%s%s", goldenDur(h.At), goldenFlag(h.Nil, " nil"))
		for _, e := range h.Entries {
			if e.Panicked {
				sample += fmt.Sprintf(" {%s panicked}", e.Name)
				continue
			}
			sample += fmt.Sprintf(" {%s ok=%s fail=%s error=%s failures=%d}", e.Name, goldenStamp(e.LastSuccess), goldenStamp(e.LastFailure),
				goldenQuote(e.LastError), e.Failures)
		}
		line("%s", sample)
	}
	for _, m := range t.States {
		states := "states at=" + goldenDur(m.At)
		for _, e := range m.Entries {
			states += fmt.Sprintf(" {%s %s since=%s%s attempts=%d restarts=%d failures=%d error=%s fail=%s until=%s}", e.Name,
				goldenQuote(e.State), goldenStamp(e.Since), goldenFlag(e.Ready, " ready"), e.Attempts, e.Restarts, e.ConsecutiveFailures,
				goldenError(e.Name, e.LastError), goldenStamp(e.LastFailure), goldenStamp(e.BackoffUntil))
		}
		line("%s", states)
	}
	for _, p := range t.Probes {
		line("probe at=%s %s -> %s", goldenDur(p.At), goldenProbeReq(p.Req), goldenProbeAnswer(p))
	}
	for _, l := range t.StrayLogs {
		line("stray-log %s", goldenQuote(l))
	}
	if t.Stuck != "" {
		line("stuck %s", goldenQuote(t.Stuck))
	}
	return b.String()
}

// goldenServiceAt rewrites "svc1 at 1.5s", a service and the instant it
// gave up as the trace holds them (Duration.String), as "svc1 at=1500ms";
// anything else (a list entry that is not a *GiveUpError) is quoted.
func goldenServiceAt(s string) string {
	name, at, ok := strings.Cut(s, " at ")
	d, err := time.ParseDuration(at)
	if !ok || err != nil || strings.ContainsAny(name, " \"") {
		return goldenQuote(s)
	}
	return name + " at=" + goldenDur(d)
}

// goldenGiveUp renders the outcome and detail of a GaveUp event, which
// the trace holds as "<n> in <window>: <the last failure's text>" (the
// *GiveUpError's limit, then the failure as AttemptEnded gives it), as
// "<outcome> <text> limit=<n>/<window>". A detail not of that form is
// quoted whole.
func goldenGiveUp(name string, o Outcome, detail string) string {
	limit, text, ok := strings.Cut(detail, ": ")
	n, window, ok2 := strings.Cut(limit, " in ")
	d, err := time.ParseDuration(window)
	if _, errN := strconv.Atoi(n); !ok || !ok2 || err != nil || errN != nil {
		return fmt.Sprintf("%s %s", o, goldenQuote(detail))
	}
	return fmt.Sprintf("%s %s limit=%s/%s", o, goldenError(name, text), n, goldenDur(d))
}

// goldenError writes the text of a failure of service name as the Manager
// classified it (an AttemptEnded or GaveUp event's, a States LastError):
// quoted, except the error of an attempt not ready within its start
// timeout (C9.4), whose wording is the library's, not the contract's. The
// sim holds it to the text "lifecycle: service <name> not ready within its
// start timeout <t>: <ErrStartTimeout's text>" (startTimeoutText); the
// trace gives what the contract fixes, that it is that failure:
// start-timeout.
func goldenError(name, text string) string {
	rest, ok := strings.CutPrefix(text, fmt.Sprintf("lifecycle: service %q not ready within its start timeout ", name))
	gate, tail, ok2 := strings.Cut(rest, ": ")
	d, err := time.ParseDuration(gate)
	if ok && ok2 && err == nil && tail == lifecycle.ErrStartTimeout.Error() && text == startTimeoutText(name, d) {
		return "start-timeout"
	}
	return goldenQuote(text)
}

// goldenProbeReq rewrites a probe's request as the trace holds it
// (Probe.String: "<instant> <method> <path>[?<query>][ Accept=<Go
// quoted>]") as the schedule's "probe" line writes it, less the instant;
// anything else is quoted whole.
func goldenProbeReq(req string) string {
	f := strings.SplitN(req, " ", 4)
	if len(f) < 3 {
		return goldenQuote(req)
	}
	out := f[1] + " " + f[2]
	if len(f) == 4 {
		q, ok := strings.CutPrefix(f[3], "Accept=")
		accept, err := strconv.Unquote(q)
		if !ok || err != nil {
			return goldenQuote(req)
		}
		out += " accept=" + goldenQuote(accept)
	}
	return out
}

// goldenProbeAnswer writes a probe's answer as the sim records it
// (serveProbe): the status code, the headers that matter as key=<string>
// (type, cache, nosniff, vary; allow for a 405), the Content-Length as
// length=body (that of the body), length=<n> (a HEAD's), length=set (a
// HEAD's of JSON, whose bytes are the library's) or length=<what is
// wrong>; then "body" and each line of the body (text), or of the sim's
// canonical lines of its JSON (canonJSON), quoted. An answer the sim
// records in another shape is quoted whole.
func goldenProbeAnswer(p ProbeSample) string {
	code, rest, _ := strings.Cut(p.HTTP, " ")
	if _, err := strconv.Atoi(code); err != nil {
		return goldenQuote(p.HTTP)
	}
	out := code
	for rest != "" {
		if v, ok := strings.CutPrefix(rest, "length "); ok {
			switch _, err := strconv.Atoi(v); {
			case v == "of the body":
				v = "body"
			case v == "set" || err == nil:
			default:
				v = goldenQuote(v)
			}
			out += " length=" + v
			break
		}
		key, after, ok := strings.Cut(rest, "=")
		q, err := strconv.QuotedPrefix(after)
		if !ok || err != nil || strings.Contains(key, " ") {
			return goldenQuote(p.HTTP)
		}
		v, _ := strconv.Unquote(q)
		out += " " + key + "=" + goldenQuote(v)
		rest = strings.TrimPrefix(after[len(q):], " ")
	}
	if len(p.Body) > 0 {
		out += " body"
		for _, l := range p.Body {
			out += " " + goldenQuote(l)
		}
	}
	return out
}

// goldenFlag is text if set, else "".
func goldenFlag(set bool, text string) string {
	if set {
		return text
	}
	return ""
}
