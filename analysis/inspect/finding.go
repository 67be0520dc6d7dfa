// Package inspect makes the monthly inspection list (线损稽查清单): the
// transformer areas and feeder lines with the highest loss, or the largest
// change in loss that no flagged meter explains, each with its evidence
// (suspected meters with their flags and theft ranking, archive relations
// that look wrong, an area meter past its verification, missing reads); and
// keeps it as a work list whose items field staff mark checked with what
// they found, every change a new version of the item's record.
//
// [Rank] is pure: it scores what the analysis stored (balances, flags,
// theft rankings) and the archive review's findings. [List] keeps the
// items in a [store.Results].
package inspect

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/headend/headend/analysis/anomaly"
)

// Finding is one piece of evidence, in the JSON shape the archive review
// (analysis/review) and this package share.
type Finding struct {
	Rule     string     `json:"rule"`
	Severity string     `json:"severity"` // high, medium, low
	Area     string     `json:"area,omitempty"`
	Meter    string     `json:"meter,omitempty"`
	Day      string     `json:"day,omitempty"` // YYYY-MM-DD
	Summary  string     `json:"summary"`
	Evidence []Evidence `json:"evidence,omitempty"`
}

// Evidence is a read or a figure behind a finding.
type Evidence struct {
	What  string `json:"what"`
	Meter string `json:"meter,omitempty"`
	Time  string `json:"time,omitempty"`
	Value string `json:"value,omitempty"`
	Unit  string `json:"unit,omitempty"`
}

// Severities.
const (
	High   = "high"
	Medium = "medium"
	Low    = "low"
)

// FindingsOf converts findings of any type with the same JSON shape (the
// archive review's) by way of JSON: a slice of them, or a JSON document
// ([]byte, json.RawMessage) of a list or of {"findings": [...]}.
func FindingsOf(v any) ([]Finding, error) {
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	case json.RawMessage:
		b = x
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("inspect: findings: %w", err)
		}
	}
	var out []Finding
	if err := json.Unmarshal(b, &out); err == nil {
		return out, nil
	}
	var doc struct {
		Findings []Finding `json:"findings"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("inspect: findings: %w", err)
	}
	return doc.Findings, nil
}

// flagFinding is a flag as evidence.
func flagFinding(f *anomaly.Flag, loc *time.Location) Finding {
	sev := Low
	switch {
	case f.Confidence >= 0.8:
		sev = High
	case f.Confidence >= 0.5:
		sev = Medium
	}
	fd := Finding{Rule: string(f.Kind), Severity: sev, Area: f.Area, Meter: f.Meter, Day: f.Start.In(loc).Format(time.DateOnly), Summary: f.Summary}
	if f.Other != "" {
		fd.Summary += " (archived in " + f.Area + ", seems to be in " + f.Other + ")"
	}
	fd.Evidence = append(fd.Evidence, Evidence{What: "confidence", Value: fmt.Sprintf("%.2f", f.Confidence)})
	if !f.End.IsZero() {
		fd.Evidence = append(fd.Evidence, Evidence{What: "last seen", Time: f.End.In(loc).Format(time.DateOnly)})
	}
	for _, x := range f.Figures {
		fd.Evidence = append(fd.Evidence, Evidence{What: x.Name, Value: x.Value.String(), Unit: x.Unit})
	}
	for i, k := range f.Reads {
		if i == 10 {
			fd.Evidence = append(fd.Evidence, Evidence{What: fmt.Sprintf("and %d more reads", len(f.Reads)-10)})
			break
		}
		fd.Evidence = append(fd.Evidence, Evidence{What: string(k.Class) + " " + k.Quantity, Meter: k.Meter, Time: k.Time.In(loc).Format(time.RFC3339)})
	}
	return fd
}

// rankingFinding is an area's theft ranking as evidence: its suspects
// with their scores.
func rankingFinding(rk *anomaly.Ranking, loc *time.Location, top int) Finding {
	sev := Low
	best := 0.0
	if len(rk.Candidates) > 0 {
		best = rk.Candidates[0].Score
	}
	switch {
	case best >= 0.5 || rk.Lossy && best > 0:
		sev = High
	case rk.Lossy || best > 0:
		sev = Medium
	}
	fd := Finding{Rule: "theft_ranking", Severity: sev, Area: rk.Area, Day: rk.WindowEnd.In(loc).Format(time.DateOnly)}
	fd.Summary = fmt.Sprintf("loss %.2f kWh a day above what the load explains", rk.Excess)
	if !rk.Onset.IsZero() {
		fd.Summary += " from " + rk.Onset.In(loc).Format(time.DateOnly)
	}
	if rk.Lossy {
		fd.Summary += " (beyond the noise)"
	}
	var names []string
	for i := range rk.Candidates {
		c := &rk.Candidates[i]
		if i == top {
			break
		}
		if c.Score > 0 {
			names = append(names, fmt.Sprintf("%s (%.2f)", c.Meter, c.Score))
		}
		ev := Evidence{What: "theft score", Meter: c.Meter, Value: fmt.Sprintf("%.2f", c.Score)}
		if !c.Onset.IsZero() {
			ev.Time = c.Onset.In(loc).Format(time.DateOnly)
		}
		if c.Gate != "" {
			ev.What += ": " + c.Gate
		} else {
			ev.What += fmt.Sprintf(": registers %.2f kWh a day (%.0f %%) less than expected", c.Deficit, c.DeficitPct)
		}
		fd.Evidence = append(fd.Evidence, ev)
	}
	if len(names) > 0 {
		fd.Summary += "; suspects " + joinMax(names, 5)
	} else {
		fd.Summary += "; no customer's drop explains it"
	}
	fd.Evidence = append(fd.Evidence, Evidence{What: "area excess", Value: fmt.Sprintf("%.2f", rk.Excess), Unit: "kWh/day"},
		Evidence{What: "baseline loss rate", Value: fmt.Sprintf("%.2f", rk.BaselineRate), Unit: "%"})
	return fd
}

func joinMax(s []string, n int) string {
	out := ""
	for i, x := range s {
		if i == n {
			return out + fmt.Sprintf(" and %d more", len(s)-n)
		}
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
