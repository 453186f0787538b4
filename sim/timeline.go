package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// timelineWidth is the number of columns of the time axis.
const timelineWidth = 64

// timelineLegend explains the symbols of [Timeline].
const timelineLegend = `legend: = Run running   - backing off   end of a Run call: x error  n nil  p panic  g goexit  f finished
        (capital letter: it ended once ctx was done)   Stop: S called  ~ running  A abandoned at its deadline
        . abandoned call still running  end of a Stop call: o nil  x error  p panic  g goexit  ' blocked for good
        driver: C ctx cancelled  T Stop called  h Health sampled  B SetBackoff  R Run returned   * marks a line where got differs`

// Timeline draws want and got on a virtual-time axis: per service one line
// for its Run calls (attempts and backoffs) and, for a Stopper, one for its
// Stop call; want above got. A line of got that differs from want's is
// marked with '*'.
func Timeline(s Schedule, want, got *Trace) string {
	// Every instant at which something happened, to lay the axis out.
	instants := []time.Duration{0, s.CancelAt, s.StopAt}
	if s.Rebackoff != nil {
		instants = append(instants, s.RebackoffAt)
	}
	instants = append(instants, s.HealthAt...)
	for _, tr := range []*Trace{want, got} {
		instants = append(instants, tr.RunReturned, tr.Stop.End, tr.Stop.Returned)
		for _, st := range tr.Services {
			for _, a := range st.Attempts {
				instants = append(instants, a.Start, a.End)
			}
			for _, c := range st.Stops {
				instants = append(instants, c.Called, c.Returned, c.Deadline)
			}
		}
	}
	instants = slices.DeleteFunc(instants, func(t time.Duration) bool { return t < 0 })
	slices.Sort(instants)
	instants = slices.Compact(instants)
	col, width, linear := axis(instants)

	var b strings.Builder
	const label = "%-16s"
	horizon := instants[len(instants)-1]
	axisLine := []byte(strings.Repeat("-", width))
	labels := []byte(strings.Repeat(" ", width+16))
	if linear {
		fmt.Fprintf(&b, "timeline: 1 column = %v\n", fmtDur(max(horizon/time.Duration(width-1), 1)))
		axisLine[0], axisLine[width/2], axisLine[width-1] = '|', '+', '|'
		copy(labels, "0s")
		copy(labels[width/2:], fmtDur(horizon/2))
		copy(labels[width-1:], fmtDur(horizon))
	} else {
		b.WriteString("timeline, not to scale: one + per instant at which something happened\n")
		free := 0
		for _, t := range instants {
			c := col(t)
			axisLine[c] = '+'
			if l := fmtDur(t); c >= free {
				copy(labels[c:], l)
				free = c + len(l) + 1
			}
		}
	}
	fmt.Fprintf(&b, label+" %s\n", "", axisLine)
	fmt.Fprintf(&b, label+" %s\n", "", strings.TrimRight(string(labels), " "))

	driver := []byte(strings.Repeat(" ", width))
	for _, h := range s.HealthAt {
		driver[col(h)] = 'h'
	}
	if got.RunReturned != Unset {
		driver[col(got.RunReturned)] = 'R'
	}
	if s.Rebackoff != nil {
		driver[col(s.RebackoffAt)] = 'B'
	}
	driver[col(s.StopAt)] = 'T'
	driver[col(s.CancelAt)] = 'C'
	fmt.Fprintf(&b, label+" %s\n", "driver", driver)

	line := func(name string, draw func(tr *Trace) []byte) {
		w, g := draw(want), draw(got)
		mark := " "
		if string(w) != string(g) {
			mark = "*"
		}
		fmt.Fprintf(&b, label+" %s\n", name+" want", w)
		fmt.Fprintf(&b, "%-16s%s%s\n", name+" got", mark, g)
	}
	for i := range s.Services {
		line(Name(i), func(tr *Trace) []byte {
			row := []byte(strings.Repeat(" ", width))
			if i >= len(tr.Services) {
				return row
			}
			at := tr.Services[i].Attempts
			for k, a := range at {
				fill(row, col(a.Start), col(a.End), '=')
				// Backing off until the next attempt, or until cancellation.
				if !a.Canceled && a.Outcome != Finished {
					next := s.CancelAt
					if k+1 < len(at) {
						next = at[k+1].Start
					}
					fill(row, col(a.End), col(next), '-')
				}
			}
			for _, a := range at {
				c := endMark(a.Outcome)
				if a.Canceled && c >= 'a' && c <= 'z' {
					c -= 'a' - 'A'
				}
				row[col(a.End)] = c
			}
			return row
		})
		if s.Services[i].Stopper == nil {
			continue
		}
		line(Name(i)+" Stop", func(tr *Trace) []byte {
			row := []byte(strings.Repeat(" ", width))
			if i >= len(tr.Services) {
				return row
			}
			for _, c := range tr.Services[i].Stops {
				stopEnd := c.Returned
				if c.Returned == Unset || c.CtxDone {
					stopEnd = max(c.Deadline, c.Called)
				}
				fill(row, col(c.Called), col(stopEnd), '~')
				if c.Returned == Unset {
					fill(row, col(stopEnd), width, '.')
					row[width-1] = '\''
				} else {
					fill(row, col(stopEnd), col(c.Returned), '.')
					m := endMark(c.Outcome)
					if c.Outcome == Nil {
						m = 'o'
					}
					row[col(c.Returned)] = m
				}
				if c.Returned == Unset || c.CtxDone {
					row[col(stopEnd)] = 'A'
				}
				row[col(c.Called)] = 'S'
			}
			return row
		})
	}
	b.WriteString(timelineLegend)
	b.WriteString("\n")
	return b.String()
}

// axis returns the column of each instant: linear in time when that keeps
// the given instants in distinct columns of at least 1ns, else one column group per
// instant, in order (then width may exceed timelineWidth).
func axis(instants []time.Duration) (col func(time.Duration) int, width int, linear bool) {
	horizon := max(instants[len(instants)-1], 1)
	lin := func(t time.Duration) int {
		return int(float64(max(t, 0)) / float64(horizon) * float64(timelineWidth-1))
	}
	linear = horizon >= timelineWidth-1 // a column is at least 1ns
	for k := 1; k < len(instants); k++ {
		if lin(instants[k]) == lin(instants[k-1]) {
			linear = false
		}
	}
	if linear {
		return lin, timelineWidth, true
	}
	spacing := max(2, (timelineWidth-1)/max(len(instants)-1, 1))
	width = (len(instants)-1)*spacing + 1
	return func(t time.Duration) int {
		k, found := slices.BinarySearch(instants, t)
		if !found && k > 0 {
			k-- // between two instants: draw it at the earlier one
		}
		return k * spacing
	}, width, false
}

// fill sets row[from:to] to c.
func fill(row []byte, from, to int, c byte) {
	for x := max(from, 0); x < min(to, len(row)); x++ {
		row[x] = c
	}
}

// endMark is the timeline's letter for a call that ended with o.
func endMark(o Outcome) byte {
	switch o {
	case Error:
		return 'x'
	case Nil:
		return 'n'
	case Panic:
		return 'p'
	case Goexit:
		return 'g'
	case Finished:
		return 'f'
	}
	return '?'
}
