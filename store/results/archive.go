package results

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/store"
)

// KindArchiveChange is the record kind of a logged archive change.
const KindArchiveChange = "archive_change"

// ArchiveChange is the body of a logged change: who made it, when, through
// what, and the change.
type ArchiveChange struct {
	Who    string    `json:"who"`
	At     time.Time `json:"at"`
	Source string    `json:"source,omitempty"` // e.g. "headend archive import D05.csv", "PUT /api/v1/archive"
	archive.Change
}

// ChangeLog logs archive changes (who, when, before and after) in a
// store.Results, one record of kind [KindArchiveChange] per entry changed.
type ChangeLog struct {
	Results store.Results
	Now     func() time.Time // nil: time.Now
}

// Log records what changed from before to after, made by who through
// source, and returns the changes. Nothing changed logs nothing.
func (l *ChangeLog) Log(ctx context.Context, who, source string, before, after *archive.Archive) ([]archive.Change, error) {
	if strings.TrimSpace(who) == "" {
		return nil, fmt.Errorf("archive change log: who made the change must be given")
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	at := now()
	chs := archive.Diff(before, after)
	if len(chs) == 0 {
		return nil, nil
	}
	recs := make([]store.Record, 0, len(chs))
	for i, c := range chs {
		e := ArchiveChange{Who: who, At: at, Source: source, Change: c}
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("archive change log: %s %s: %w", c.What, c.ID, err)
		}
		meter := ""
		if c.What == "meter" {
			meter = c.ID
		}
		recs = append(recs, store.Record{Kind: KindArchiveChange, Key: fmt.Sprintf("%s|%04d|%s|%s", at.UTC().Format(time.RFC3339Nano), i, c.What, c.ID),
			Area: c.Area, Meter: meter, Time: at, Body: b})
	}
	if _, err := l.Results.Put(ctx, recs); err != nil {
		return nil, fmt.Errorf("archive change log: %w", err)
	}
	return chs, nil
}

// Changes returns the logged changes whose time is in [from, to) (zero:
// unbounded), of an area when area is not empty, oldest first.
func (l *ChangeLog) Changes(ctx context.Context, area string, from, to time.Time) ([]ArchiveChange, error) {
	recs, err := l.Results.Current(ctx, store.RecordQuery{Kind: KindArchiveChange, Area: area, From: from, To: to})
	if err != nil {
		return nil, fmt.Errorf("archive change log: %w", err)
	}
	out := make([]ArchiveChange, 0, len(recs))
	for _, r := range recs {
		var e struct {
			ArchiveChange
			Before json.RawMessage `json:"before"`
			After  json.RawMessage `json:"after"`
		}
		if err := json.Unmarshal(r.Body, &e); err != nil {
			return nil, fmt.Errorf("archive change log: record %s: %w", r.Key, err)
		}
		ce := e.ArchiveChange
		ce.Before, ce.After = rawOrNil(e.Before), rawOrNil(e.After)
		out = append(out, ce)
	}
	slices.SortStableFunc(out, func(a, b ArchiveChange) int { return a.At.Compare(b.At) })
	return out, nil
}

func rawOrNil(b json.RawMessage) any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return b
}
