package inspect

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/headend/headend/store"
)

// Kind is the record kind of work-list entries: Body is an Entry.
const Kind = "inspection"

// Entry statuses.
const (
	Open    = "open"
	Checked = "checked"
)

// FaultEnergy is energy a meter failed to register, as found on site: the
// first and last day (YYYY-MM-DD) and kWh over them.
type FaultEnergy struct {
	Meter string `json:"meter,omitempty"` // empty: the area meter
	From  string `json:"from"`
	To    string `json:"to"`
	KWh   string `json:"kwh"`
	// Correction is the fault-energy correction proposed for it, which
	// adds it back once approved.
	Correction string `json:"correction,omitempty"`
}

// Entry is an item of a month's work list with what became of it. Its
// record's versions are its history: each ranking that changed it, each
// check.
type Entry struct {
	ID    string `json:"id"`
	Month string `json:"month"` // YYYY-MM
	Item
	Status      string       `json:"status"`
	Finding     string       `json:"finding,omitempty"`
	CheckedBy   string       `json:"checked_by,omitempty"`
	CheckedAt   time.Time    `json:"checked_at,omitzero"`
	FaultEnergy *FaultEnergy `json:"fault_energy,omitempty"`
}

// Record is the entry's record.
func (e *Entry) Record(month time.Time) store.Record {
	b, _ := json.Marshal(e)
	r := store.Record{Kind: Kind, Key: e.ID, Time: monthStart(month), Body: b}
	if e.Kind == KindArea {
		r.Area = e.Target
	}
	return r
}

func monthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
}

// ErrNotFound is returned for an entry that is not on any list.
var ErrNotFound = errors.New("no such inspection item")

// List keeps the work lists in a results store. Its methods are safe for
// concurrent use; two Lists on one store are not (they number entries
// apart).
type List struct {
	Results store.Results
	mu      sync.Mutex
}

// Month returns the month's entries: ranked ones by rank, then those no
// longer ranked by ID.
func (l *List) Month(ctx context.Context, month time.Time) ([]Entry, error) {
	from := monthStart(month)
	recs, err := l.Results.Current(ctx, store.RecordQuery{Kind: Kind, From: from, To: from.AddDate(0, 1, 0)})
	if err != nil {
		return nil, fmt.Errorf("inspections of %s: %w", from.Format("2006-01"), err)
	}
	out := make([]Entry, 0, len(recs))
	for _, r := range recs {
		var e Entry
		if err := json.Unmarshal(r.Body, &e); err != nil {
			return nil, fmt.Errorf("inspection %s: %w", r.Key, err)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int {
		ra, rb := a.Rank, b.Rank
		if ra == 0 {
			ra = 1 << 30
		}
		if rb == 0 {
			rb = 1 << 30
		}
		return cmp.Or(cmp.Compare(ra, rb), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Save makes items the month's ranking: an item already on the list (the
// same kind and target) keeps its ID, status and finding and takes the
// new rank, score and evidence; a new one is added, open; an entry no
// longer among items keeps what it had with rank 0. Only entries that
// changed are stored again. It returns the month's entries.
func (l *List) Save(ctx context.Context, month time.Time, items []Item) ([]Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old, err := l.Month(ctx, month)
	if err != nil {
		return nil, err
	}
	at := map[string]int{}
	next := 1
	for i := range old {
		at[old[i].Kind+"|"+old[i].Target] = i
		var n int
		if _, err := fmt.Sscanf(old[i].ID[strings.LastIndexByte(old[i].ID, '-')+1:], "%d", &n); err == nil && n >= next {
			next = n + 1
		}
	}
	ranked := map[int]bool{}
	var recs []store.Record
	prefix := "I" + monthStart(month).Format("200601") + "-"
	for _, it := range items {
		if i, ok := at[it.Kind+"|"+it.Target]; ok {
			old[i].Item = it
			ranked[i] = true
			continue
		}
		e := Entry{ID: fmt.Sprintf("%s%03d", prefix, next), Month: monthStart(month).Format("2006-01"), Item: it, Status: Open}
		next++
		recs = append(recs, e.Record(month))
	}
	for i := range old {
		if !ranked[i] {
			old[i].Rank = 0
		}
		recs = append(recs, old[i].Record(month))
	}
	if _, err := l.Results.Put(ctx, recs); err != nil {
		return nil, fmt.Errorf("storing the inspections of %s: %w", monthStart(month).Format("2006-01"), err)
	}
	return l.Month(ctx, month)
}

// Get returns an entry and its history, oldest version first.
func (l *List) Get(ctx context.Context, id string) (Entry, []store.Record, error) {
	h, err := l.Results.History(ctx, Kind, id)
	if err != nil {
		return Entry{}, nil, fmt.Errorf("inspection %s: %w", id, err)
	}
	if len(h) == 0 {
		return Entry{}, nil, fmt.Errorf("inspection %s: %w", id, ErrNotFound)
	}
	var e Entry
	if err := json.Unmarshal(h[len(h)-1].Body, &e); err != nil {
		return Entry{}, nil, fmt.Errorf("inspection %s: %w", id, err)
	}
	return e, h, nil
}

// Check is what a person found on site.
type Check struct {
	Finding string
	Who     string
	At      time.Time
	Fault   *FaultEnergy
}

// Check marks an entry checked with what was found, who found it and
// when; checking again records the later finding as the next version.
func (l *List) Check(ctx context.Context, id string, c Check) (Entry, error) {
	if strings.TrimSpace(c.Finding) == "" {
		return Entry{}, errors.New("a check needs a finding")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e, h, err := l.Get(ctx, id)
	if err != nil {
		return Entry{}, err
	}
	e.Status, e.Finding, e.CheckedBy, e.CheckedAt, e.FaultEnergy = Checked, strings.TrimSpace(c.Finding), c.Who, c.At, c.Fault
	month := h[len(h)-1].Time
	rec := e.Record(month)
	rec.Time = month // as first stored, whatever its zone
	if _, err := l.Results.Put(ctx, []store.Record{rec}); err != nil {
		return Entry{}, fmt.Errorf("inspection %s: %w", id, err)
	}
	return e, nil
}
