package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

// memStore is the contract in its plainest form: a map under a mutex,
// with days in UTC. The suite is tested against it.
type memStore struct {
	mu     sync.Mutex
	ret    store.Retention
	now    time.Time
	points map[store.Key]meter.Read
	aggs   map[store.Key]store.Aggregate // Time is the day
}

func newMem(ret store.Retention, now time.Time) *memStore {
	return &memStore{ret: ret, now: now, points: map[store.Key]meter.Read{}, aggs: map[store.Key]store.Aggregate{}}
}

func (m *memStore) Write(_ context.Context, reads []meter.Read) error {
	for i := range reads {
		r := &reads[i]
		switch {
		case r.Meter == "":
			return fmt.Errorf("mem: read %d: empty meter", i)
		case r.Quantity == "":
			return fmt.Errorf("mem: read %d: empty quantity", i)
		case store.Time(r).IsZero():
			return fmt.Errorf("mem: read %d: zero time", i)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range reads {
		if !m.ret.Expired(reads[i].Class, store.Time(&reads[i]), m.now) {
			m.points[store.KeyOf(&reads[i])] = reads[i]
		}
	}
	return nil
}

func (m *memStore) matches(q *store.Query, meterID, area string, c meter.Class, qty string, t time.Time) bool {
	return (len(q.Meters) == 0 || slices.Contains(q.Meters, meterID)) &&
		(q.Area == "" || q.Area == area) && (q.Class == "" || q.Class == c) &&
		(q.Quantity == "" || q.Quantity == qty) &&
		(q.From.IsZero() || !t.Before(q.From)) && (q.To.IsZero() || t.Before(q.To))
}

func (m *memStore) Query(_ context.Context, q store.Query) ([]meter.Read, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []meter.Read
	for k, r := range m.points {
		if m.matches(&q, r.Meter, r.Area, r.Class, r.Quantity, k.Time) {
			out = append(out, r)
		}
	}
	out = sorted(out)
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func (m *memStore) Close() error { return nil }

func (m *memStore) Downsample(_ context.Context, from, to time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for day := from.UTC().Truncate(24 * time.Hour); day.Before(to); day = day.Add(24 * time.Hour) {
		maps.DeleteFunc(m.aggs, func(k store.Key, _ store.Aggregate) bool { return k.Time.Equal(day) })
		var rs []meter.Read
		for k, r := range m.points {
			if store.KindOf(r.Class) == store.Raw && r.Status == meter.OK && r.Text == "" &&
				!k.Time.Before(day) && k.Time.Before(day.Add(24*time.Hour)) {
				rs = append(rs, r)
			}
		}
		for _, r := range sorted(rs) { // in time order: ties go to the earliest
			k := store.Key{Meter: r.Meter, Class: r.Class, Quantity: r.Quantity, Time: day}
			a, ok := m.aggs[k]
			if !ok {
				a = store.Aggregate{Meter: r.Meter, Class: r.Class, Quantity: r.Quantity, Day: day,
					Min: r.Value, Max: r.Value, First: r.Value}
			}
			a.Area, a.Unit, a.Last = r.Area, r.Unit, r.Value
			a.Count++
			if r.Value.Cmp(a.Min) < 0 {
				a.Min = r.Value
			}
			if r.Value.Cmp(a.Max) > 0 {
				a.Max = r.Value
			}
			sc := max(a.Sum.Scale, r.Value.Scale)
			x, _ := a.Sum.Rescale(sc)
			y, _ := r.Value.Rescale(sc)
			a.Sum = dlt645.Decimal{Units: x.Units + y.Units, Scale: sc}
			m.aggs[k] = a
		}
	}
	return nil
}

func (m *memStore) Aggregates(_ context.Context, q store.Query) ([]store.Aggregate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Aggregate
	for _, a := range m.aggs {
		if m.matches(&q, a.Meter, a.Area, a.Class, a.Quantity, a.Day) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b store.Aggregate) int {
		if c := a.Day.Compare(b.Day); c != 0 {
			return c
		}
		return strings.Compare(a.Meter+"\x00"+string(a.Class)+"\x00"+a.Quantity, b.Meter+"\x00"+string(b.Class)+"\x00"+b.Quantity)
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

var testNow = time.Date(2026, 11, 23, 10, 17, 42, 0, time.UTC)

func TestRunMem(t *testing.T) {
	Run(t, func(t testing.TB, ret store.Retention) (store.Store, time.Time) {
		return newMem(ret, testNow), testNow
	})
}

// TestDiff checks that the suite's comparison sees a lost scale, frame
// or zero time, and not a change of zone.
func TestDiff(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	r := reading("000000000001", "A", meter.Daily, qFwd, testNow, 99999999, 2)
	r.Frame.Reply = append(r.Frame.Reply, []byte{1, 2})
	same := r
	same.MeterTime, same.ReadAt = r.MeterTime.In(cst), r.ReadAt.In(cst)
	same.Frame.Request = slices.Clone(r.Frame.Request)
	if d := diff(&same, &r); d != "" {
		t.Errorf("the same read in another zone: %s", d)
	}
	for name, spoil := range map[string]func(r *meter.Read){
		"scale":      func(r *meter.Read) { r.Value, _ = r.Value.Rescale(3) },
		"reply":      func(r *meter.Read) { r.Frame.Reply = r.Frame.Reply[:1] },
		"reply byte": func(r *meter.Read) { r.Frame.Reply = [][]byte{r.Frame.Reply[0], {1, 3}} },
		"meter time": func(r *meter.Read) { r.MeterTime = time.Time{} },
		"instant":    func(r *meter.Read) { r.ReadAt = r.ReadAt.Add(time.Nanosecond) },
		"tries":      func(r *meter.Read) { r.Frame.Tries++ },
		"edition":    func(r *meter.Read) { r.Edition = dlt645.DLT1997 },
	} {
		bad := r
		spoil(&bad)
		if diff(&bad, &r) == "" {
			t.Errorf("diff does not see a changed %s", name)
		}
	}
}
