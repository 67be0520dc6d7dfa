package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/store"
)

// KindChange is the store.Results record kind of a logged archive change.
const KindChange = "archive_change"

// Change is one archive entry added, removed or changed: what it is
// (area, concentrator, channel, meter, exchange), its ID, the fields that
// changed, and the entry before and after (nil when added or removed).
type Change struct {
	What   string   `json:"what"`
	ID     string   `json:"id"`
	Op     string   `json:"op"`               // added, removed, changed
	Fields []string `json:"fields,omitempty"` // yaml names of the changed fields, when changed
	Area   string   `json:"area,omitempty"`
	Before any      `json:"before,omitempty"`
	After  any      `json:"after,omitempty"`
}

// Diff lists what changed from before to after, entry by entry (matched
// by ID, address or, for exchanges, old meter and time), in archive
// order: removed entries after the others. Where an entry was read from
// (Source) is not a change. Nil archives are empty.
func Diff(before, after *Archive) []Change {
	if before == nil {
		before = &Archive{}
	}
	if after == nil {
		after = &Archive{}
	}
	var out []Change
	out = append(out, diffList("area", before.Areas, after.Areas, func(a *Area) (string, string) { return a.ID, a.ID })...)
	out = append(out, diffList("concentrator", before.Concentrators, after.Concentrators,
		func(c *Concentrator) (string, string) { return c.ID, c.Area })...)
	out = append(out, diffList("channel", before.Channels, after.Channels, func(c *Channel) (string, string) { return c.ID, "" })...)
	out = append(out, diffList("meter", before.Meters, after.Meters, func(m *Meter) (string, string) { return m.Address, m.Area })...)
	out = append(out, diffList("exchange", before.Exchanges, after.Exchanges, func(e *Exchange) (string, string) {
		return e.OldMeter + "@" + e.Date.UTC().Format(time.RFC3339), e.Area
	})...)
	return out
}

// diffList compares two lists of entries keyed by id.
func diffList[T any](what string, before, after []T, id func(*T) (key, area string)) []Change {
	old := map[string]*T{}
	for i := range before {
		k, _ := id(&before[i])
		if _, ok := old[k]; !ok {
			old[k] = &before[i]
		}
	}
	var out []Change
	seen := map[string]bool{}
	for i := range after {
		a := &after[i]
		k, area := id(a)
		if seen[k] {
			continue
		}
		seen[k] = true
		b, ok := old[k]
		switch {
		case !ok:
			out = append(out, Change{What: what, ID: k, Op: "added", Area: area, After: *a})
		default:
			if f := changedFields(b, a); len(f) > 0 {
				out = append(out, Change{What: what, ID: k, Op: "changed", Fields: f, Area: area, Before: *b, After: *a})
			}
		}
	}
	for i := range before {
		b := &before[i]
		k, area := id(b)
		if !seen[k] {
			seen[k] = true
			out = append(out, Change{What: what, ID: k, Op: "removed", Area: area, Before: *b})
		}
	}
	return out
}

// changedFields names the exported fields (by yaml name) that differ,
// Source left out.
func changedFields[T any](a, b *T) []string {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	var out []string
	for i := range va.NumField() {
		f := va.Type().Field(i)
		if !f.IsExported() || f.Name == "Source" {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			out = append(out, name)
		}
	}
	return out
}

// ChangeEntry is the body of a logged change: who made it, when, through
// what, and the change.
type ChangeEntry struct {
	Who    string    `json:"who"`
	At     time.Time `json:"at"`
	Source string    `json:"source,omitempty"` // e.g. "headend archive import D05.csv", "PUT /api/v1/archive"
	Change
}

// ChangeLog logs archive changes (who, when, before and after) in a
// store.Results, one record of kind [KindChange] per entry changed.
type ChangeLog struct {
	Results store.Results
	Now     func() time.Time // nil: time.Now
}

// Log records what changed from before to after, made by who through
// source, and returns the changes. Nothing changed logs nothing.
func (l *ChangeLog) Log(ctx context.Context, who, source string, before, after *Archive) ([]Change, error) {
	if strings.TrimSpace(who) == "" {
		return nil, fmt.Errorf("archive change log: who made the change must be given")
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	at := now()
	chs := Diff(before, after)
	if len(chs) == 0 {
		return nil, nil
	}
	recs := make([]store.Record, 0, len(chs))
	for i, c := range chs {
		e := ChangeEntry{Who: who, At: at, Source: source, Change: c}
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("archive change log: %s %s: %w", c.What, c.ID, err)
		}
		meter := ""
		if c.What == "meter" {
			meter = c.ID
		}
		recs = append(recs, store.Record{Kind: KindChange, Key: fmt.Sprintf("%s|%04d|%s|%s", at.UTC().Format(time.RFC3339Nano), i, c.What, c.ID),
			Area: c.Area, Meter: meter, Time: at, Body: b})
	}
	if _, err := l.Results.Put(ctx, recs); err != nil {
		return nil, fmt.Errorf("archive change log: %w", err)
	}
	return chs, nil
}

// Changes returns the logged changes whose time is in [from, to) (zero:
// unbounded), of an area when area is not empty, oldest first.
func (l *ChangeLog) Changes(ctx context.Context, area string, from, to time.Time) ([]ChangeEntry, error) {
	recs, err := l.Results.Current(ctx, store.RecordQuery{Kind: KindChange, Area: area, From: from, To: to})
	if err != nil {
		return nil, fmt.Errorf("archive change log: %w", err)
	}
	out := make([]ChangeEntry, 0, len(recs))
	for _, r := range recs {
		var e struct {
			ChangeEntry
			Before json.RawMessage `json:"before"`
			After  json.RawMessage `json:"after"`
		}
		if err := json.Unmarshal(r.Body, &e); err != nil {
			return nil, fmt.Errorf("archive change log: record %s: %w", r.Key, err)
		}
		ce := e.ChangeEntry
		ce.Before, ce.After = rawOrNil(e.Before), rawOrNil(e.After)
		out = append(out, ce)
	}
	slices.SortStableFunc(out, func(a, b ChangeEntry) int { return a.At.Compare(b.At) })
	return out, nil
}

func rawOrNil(b json.RawMessage) any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return b
}
