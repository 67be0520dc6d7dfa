// Package assess assesses line loss against targets (线损考核): loss-rate
// targets per area or per group of areas (a feeder line, a voltage level,
// a responsible person, all areas) for a span of months, read from CSV;
// and per month an assessment report per area or per responsible person:
// the target, the actual rate from the month's balances, whether it is
// qualified, the change against the previous month and the collection
// success rate, written as CSV or as a printable HTML page.
//
// Figures are exact decimals ([loss.Decimal]); rates are in percent. The
// package does no I/O beyond the readers and writers it is handed.
package assess

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/protocol/dlt645"
)

// ScopeKind is what a target applies to.
type ScopeKind string

// Scope kinds, from the most specific: a target of an area wins over one
// of its responsible person, which wins over its feeder line's, then its
// voltage level's, then one for all areas.
const (
	ScopeArea         ScopeKind = "area"
	ScopeResponsible  ScopeKind = "responsible"
	ScopeFeeder       ScopeKind = "feeder"
	ScopeVoltageLevel ScopeKind = "voltage_level"
	ScopeAll          ScopeKind = "all"
)

var specificity = map[ScopeKind]int{ScopeArea: 5, ScopeResponsible: 4, ScopeFeeder: 3, ScopeVoltageLevel: 2, ScopeAll: 1}

// Target is a loss-rate target for a span of months.
type Target struct {
	Scope ScopeKind
	Value string    // the area ID, feeder, voltage level or person; empty for all
	From  time.Time // first day it applies to
	To    time.Time // the day after the last; zero: open-ended
	Rate  loss.Decimal
	Where string // "targets.csv:4"
}

// Name is the target's scope as written: "D01", "feeder:F10-201", "*".
func (t *Target) Name() string {
	switch t.Scope {
	case ScopeArea:
		return t.Value
	case ScopeAll:
		return "*"
	}
	return string(t.Scope) + ":" + t.Value
}

// Applies reports whether the target holds on day at.
func (t *Target) Applies(at time.Time) bool {
	return !at.Before(t.From) && (t.To.IsZero() || at.Before(t.To))
}

// Targets are the targets in force, as read.
type Targets []Target

// For returns the target of area a on day at: the most specific scope
// that holds it (see [ScopeKind]).
func (ts Targets) For(a *archive.Area, at time.Time) (Target, bool) {
	var best *Target
	for i := range ts {
		t := &ts[i]
		if !t.Applies(at) || !t.holds(a) {
			continue
		}
		if best == nil || specificity[t.Scope] > specificity[best.Scope] {
			best = t
		}
	}
	if best == nil {
		return Target{}, false
	}
	return *best, true
}

// Person returns the target set for a responsible person as a group
// ("responsible:NAME") on day at.
func (ts Targets) Person(name string, at time.Time) (Target, bool) {
	for i := range ts {
		if t := &ts[i]; t.Scope == ScopeResponsible && t.Value == name && t.Applies(at) {
			return *t, true
		}
	}
	return Target{}, false
}

func (t *Target) holds(a *archive.Area) bool {
	switch t.Scope {
	case ScopeArea:
		return a.ID == t.Value
	case ScopeResponsible:
		return a.Responsible == t.Value
	case ScopeFeeder:
		return a.Feeder == t.Value
	case ScopeVoltageLevel:
		return a.VoltageLevel == t.Value
	}
	return t.Scope == ScopeAll
}

// TargetColumns are the columns of a targets file.
var TargetColumns = []string{"area_or_group", "from", "to", "target_rate"}

const maxErrors = 50

// ReadTargets reads targets from CSV with the header
// area_or_group,from,to,target_rate (any order and case). area_or_group
// is an area ID, feeder:ID, voltage_level:LEVEL, responsible:NAME, or *
// for all areas. from and to are months (2025-06) or days (2025-06-15)
// in loc, to inclusive (a month through its last day) and empty for no
// end. target_rate is a rate in percent, 0..100, at most 6 decimals.
// Lines starting with # are comments; a UTF-8 byte-order mark, CRLF and
// spaces around cells are accepted. Two targets of the same scope may not
// overlap. Problems are returned all at once, each as
// "name:line:column: field: reason".
func ReadTargets(r io.Reader, name string, loc *time.Location) (Targets, error) {
	if loc == nil {
		loc = time.UTC
	}
	cr := csv.NewReader(bomless(r))
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	var errs []error
	bad := func(line, col int, field, format string, args ...any) {
		if len(errs) > maxErrors {
			return
		}
		if len(errs) == maxErrors {
			errs = append(errs, fmt.Errorf("%s: too many errors, stopping", name))
			return
		}
		pos := fmt.Sprintf("%s:%d", name, line)
		if col > 0 {
			pos += fmt.Sprintf(":%d", col)
		}
		if field != "" {
			pos += ": " + field
		}
		errs = append(errs, fmt.Errorf("%s: %s", pos, fmt.Sprintf(format, args...)))
	}
	syntax := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s:%d:%d: %v", name, pe.Line, pe.Column, pe.Err)
		}
		return fmt.Errorf("%s: %v", name, err)
	}
	hdr, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, want a header row (%s)", name, strings.Join(TargetColumns, ","))
	}
	if err != nil {
		return nil, syntax(err)
	}
	hline, _ := cr.FieldPos(0)
	col := map[string]int{}
	for i, h := range hdr {
		k := strings.ToLower(strings.TrimSpace(h))
		switch {
		case !contains(TargetColumns, k):
			bad(hline, i+1, "", "unknown column %q (want %s)", strings.TrimSpace(h), strings.Join(TargetColumns, ","))
		case col[k] != 0:
			bad(hline, i+1, "", "column %s repeats column %d", k, col[k])
		default:
			col[k] = i + 1
		}
	}
	for _, k := range []string{"area_or_group", "from", "target_rate"} {
		if col[k] == 0 {
			bad(hline, 0, "", "header has no %s column", k)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out Targets
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if len(errs) <= maxErrors {
				errs = append(errs, syntax(err))
			}
			break
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(hdr) {
			bad(line, 0, "", "%d cells, the header has %d", len(rec), len(hdr))
			continue
		}
		cell := func(k string) (string, int) {
			if c := col[k]; c > 0 {
				return strings.TrimSpace(rec[c-1]), c
			}
			return "", 0
		}
		n := len(errs)
		t := Target{Where: fmt.Sprintf("%s:%d", name, line)}
		v, c := cell("area_or_group")
		t.Scope, t.Value, err = parseScope(v)
		if err != nil {
			bad(line, c, "area_or_group", "%v", err)
		}
		v, c = cell("from")
		if from, _, err := parseWhen(v, loc); err != nil || v == "" {
			if v == "" {
				err = errors.New("must be set")
			}
			bad(line, c, "from", "%v", err)
		} else {
			t.From = from
		}
		v, c = cell("to")
		if v != "" {
			if _, end, err := parseWhen(v, loc); err != nil {
				bad(line, c, "to", "%v", err)
			} else if !t.From.IsZero() && !end.After(t.From) {
				bad(line, c, "to", "%s is before from", v)
			} else {
				t.To = end
			}
		}
		v, c = cell("target_rate")
		if rate, err := parseRate(v); err != nil {
			bad(line, c, "target_rate", "%v", err)
		} else {
			t.Rate = rate
		}
		if len(errs) > n {
			continue
		}
		for i := range out {
			if o := &out[i]; o.Scope == t.Scope && o.Value == t.Value && overlap(o, &t) {
				bad(line, 0, "", "target for %s overlaps the one of %s", t.Name(), o.Where)
				break
			}
		}
		if len(errs) == n {
			out = append(out, t)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func contains(s []string, k string) bool {
	for _, x := range s {
		if x == k {
			return true
		}
	}
	return false
}

func overlap(a, b *Target) bool {
	aEndsBefore := !a.To.IsZero() && !a.To.After(b.From)
	bEndsBefore := !b.To.IsZero() && !b.To.After(a.From)
	return !aEndsBefore && !bEndsBefore
}

func parseScope(v string) (ScopeKind, string, error) {
	if v == "" {
		return "", "", errors.New("must be set")
	}
	if strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "", "", errors.New("control character")
	}
	if v == "*" {
		return ScopeAll, "", nil
	}
	if k, rest, ok := strings.Cut(v, ":"); ok {
		rest = strings.TrimSpace(rest)
		switch kind := ScopeKind(strings.ToLower(strings.TrimSpace(k))); kind {
		case ScopeFeeder, ScopeVoltageLevel, ScopeResponsible, ScopeArea:
			if rest == "" {
				return "", "", fmt.Errorf("%q names no %s", v, kind)
			}
			return kind, rest, nil
		default:
			return "", "", fmt.Errorf("%q: unknown group %q (want an area ID, feeder:, voltage_level:, responsible: or *)", v, k)
		}
	}
	return ScopeArea, v, nil
}

// parseWhen reads a month or a day: its first day and the day after its
// last.
func parseWhen(v string, loc *time.Location) (time.Time, time.Time, error) {
	if t, err := time.ParseInLocation("2006-01", v, loc); err == nil {
		return t, t.AddDate(0, 1, 0), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		return t, t.AddDate(0, 0, 1), nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("%q is not a month (2025-06) or a day (2025-06-15)", v)
}

func parseRate(v string) (loss.Decimal, error) {
	d, err := dlt645.ParseDecimal(strings.TrimSuffix(strings.TrimSpace(v), "%"))
	switch {
	case err != nil:
		return d, fmt.Errorf("%q is not a decimal rate in percent", v)
	case d.Scale > 6:
		return d, fmt.Errorf("%s has more than 6 decimals", v)
	case loss.Sign(d) < 0 || loss.Cmp(d, loss.Decimal{Units: 100}) > 0:
		return d, fmt.Errorf("%s is not within 0..100 %%", v)
	}
	return d, nil
}
