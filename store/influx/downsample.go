package influx

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

// Downsample computes the daily aggregates of the raw reads of every day
// in [from, to) and writes them to the aggregates bucket, replacing what
// an earlier run wrote for the same meter, quantity and day. The head-end
// does this itself, with a Flux query and a write, rather than through the
// database: InfluxDB 2.x has tasks but no continuous queries, 1.8 has
// continuous queries but no tasks, and neither keeps decimals exact.
func (s *Store) Downsample(ctx context.Context, from, to time.Time) error {
	now := s.opts.Now()
	for day := startOfDay(from, s.loc); day.Before(to); day = startOfDay(day.Add(36*time.Hour), s.loc) {
		next := startOfDay(day.Add(36*time.Hour), s.loc)
		reads, err := s.queryBucket(ctx, s.opts.Raw, []store.Kind{store.Raw}, store.Query{From: day, To: next}, now)
		if err != nil {
			return fmt.Errorf("downsample %s: %w", day.Format(time.DateOnly), err)
		}
		aggs, err := aggregate(reads, day)
		if err != nil {
			return fmt.Errorf("influx downsample %s: %w", day.Format(time.DateOnly), err)
		}
		err = s.writeLines(ctx, s.opts.Aggregates, len(aggs), func(b []byte, i int) []byte { return appendAggregate(b, &aggs[i]) })
		if err != nil {
			return fmt.Errorf("downsample %s: %w", day.Format(time.DateOnly), err)
		}
	}
	return nil
}

func startOfDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

type aggKey struct {
	meter    string
	class    meter.Class
	quantity string
}

type acc struct {
	store.Aggregate
	firstT, lastT time.Time
}

// aggregate folds one day's reads into aggregates: raw classes only, OK
// numeric reads only (Text empty), in key order.
func aggregate(reads []meter.Read, day time.Time) ([]store.Aggregate, error) {
	m := map[aggKey]*acc{}
	for i := range reads {
		r := &reads[i]
		if store.KindOf(r.Class) != store.Raw || r.Status != meter.OK || r.Text != "" {
			continue
		}
		k := aggKey{r.Meter, r.Class, r.Quantity}
		t := store.Time(r)
		a := m[k]
		if a == nil {
			m[k] = &acc{Aggregate: store.Aggregate{Meter: r.Meter, Area: r.Area, Class: r.Class, Quantity: r.Quantity, Unit: r.Unit,
				Day: day, Count: 1, Min: r.Value, Max: r.Value, First: r.Value, Last: r.Value, Sum: r.Value}, firstT: t, lastT: t}
			continue
		}
		sum, err := addDecimal(a.Sum, r.Value)
		if err != nil {
			return nil, fmt.Errorf("meter %s %s: %w", r.Meter, r.Quantity, err)
		}
		a.Sum = sum
		a.Count++
		if r.Value.Cmp(a.Min) < 0 {
			a.Min = r.Value
		}
		if r.Value.Cmp(a.Max) > 0 {
			a.Max = r.Value
		}
		if t.Before(a.firstT) {
			a.First, a.firstT = r.Value, t
		}
		if !t.Before(a.lastT) {
			a.Last, a.lastT = r.Value, t
		}
	}
	out := make([]store.Aggregate, 0, len(m))
	for _, a := range m {
		out = append(out, a.Aggregate)
	}
	slices.SortFunc(out, func(a, b store.Aggregate) int {
		return cmp.Or(cmp.Compare(a.Meter, b.Meter), cmp.Compare(a.Class, b.Class), cmp.Compare(a.Quantity, b.Quantity))
	})
	return out, nil
}

// addDecimal adds exactly at the larger scale, or fails on overflow.
func addDecimal(a, b dlt645.Decimal) (dlt645.Decimal, error) {
	sc := max(a.Scale, b.Scale)
	x, ok1 := a.Rescale(sc)
	y, ok2 := b.Rescale(sc)
	s := x.Units + y.Units
	if !ok1 || !ok2 || (x.Units > 0 && y.Units > 0 && s < 0) || (x.Units < 0 && y.Units < 0 && s >= 0) {
		return dlt645.Decimal{}, fmt.Errorf("sum of %s and %s overflows", a, b)
	}
	return dlt645.Decimal{Units: s, Scale: sc}, nil
}

func appendDecimalFields(b []byte, name string, d dlt645.Decimal) []byte {
	b = append(b, ',')
	b = append(b, name...)
	b = append(b, "_units="...)
	b = strconv.AppendInt(b, d.Units, 10)
	b = append(b, "i,"...)
	b = append(b, name...)
	b = append(b, "_scale="...)
	b = strconv.AppendInt(b, int64(d.Scale), 10)
	return append(b, 'i')
}

// appendAggregate is the line of one aggregate: measurement aggregates,
// the read tags, the day as its time.
func appendAggregate(b []byte, a *store.Aggregate) []byte {
	b = append(b, measAggregates...)
	b = appendTag(b, "meter", a.Meter)
	b = appendTag(b, "area", a.Area)
	b = appendTag(b, "class", string(a.Class))
	b = appendTag(b, "quantity", a.Quantity)
	b = append(b, " count="...)
	b = strconv.AppendInt(b, int64(a.Count), 10)
	b = append(b, 'i')
	b = appendStr(b, "unit", a.Unit)
	for _, f := range []struct {
		n string
		d dlt645.Decimal
	}{{"min", a.Min}, {"max", a.Max}, {"first", a.First}, {"last", a.Last}, {"sum", a.Sum}} {
		b = appendDecimalFields(b, f.n, f.d)
	}
	b = append(b, ",mean="...)
	b = strconv.AppendFloat(b, a.Sum.Float64()/float64(max(a.Count, 1)), 'g', -1, 64)
	b = append(b, ' ')
	b = strconv.AppendInt(b, a.Day.UnixNano(), 10)
	return append(b, '\n')
}

// Aggregates returns the daily aggregates selected by q (From/To on Day),
// ordered by (day, meter, class, quantity).
func (s *Store) Aggregates(ctx context.Context, q store.Query) ([]store.Aggregate, error) {
	from := q.From
	if d := s.opts.Retention.Aggregates; d > 0 {
		if oldest := s.opts.Now().Add(-d); from.Before(oldest) {
			from = oldest
		}
	}
	if !q.To.IsZero() && !from.Before(q.To) {
		return nil, nil
	}
	rows, err := s.rows(ctx, flux(s.opts.Aggregates, measAggregates, from, q, ""))
	if err != nil {
		return nil, fmt.Errorf("influx %s bucket %s: aggregates: %w", s.opts.URL, s.opts.Aggregates, err)
	}
	out := make([]store.Aggregate, 0, len(rows))
	for _, r := range rows {
		a, err := parseAggregate(r, s.loc)
		if err != nil {
			return nil, fmt.Errorf("influx %s bucket %s: %w", s.opts.URL, s.opts.Aggregates, err)
		}
		out = append(out, a)
	}
	slices.SortStableFunc(out, func(a, b store.Aggregate) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Meter, b.Meter), cmp.Compare(a.Class, b.Class), cmp.Compare(a.Quantity, b.Quantity))
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func parseAggregate(r row, loc *time.Location) (store.Aggregate, error) {
	t, err := r.time()
	if err != nil {
		return store.Aggregate{}, err
	}
	n, err := r.int("count")
	if err != nil {
		return store.Aggregate{}, err
	}
	a := store.Aggregate{Meter: r.str("meter"), Area: r.str("area"), Class: meter.Class(r.str("class")), Quantity: r.str("quantity"),
		Unit: r.str("unit"), Day: t.In(loc), Count: int(n)}
	for _, f := range []struct {
		n string
		d *dlt645.Decimal
	}{{"min", &a.Min}, {"max", &a.Max}, {"first", &a.First}, {"last", &a.Last}, {"sum", &a.Sum}} {
		u, err := r.int(f.n + "_units")
		if err != nil {
			return a, err
		}
		sc, err := r.int(f.n + "_scale")
		if err != nil {
			return a, err
		}
		if sc < 0 || sc > 18 {
			return a, fmt.Errorf("field %s_scale: %d out of range", f.n, sc)
		}
		*f.d = dlt645.Decimal{Units: u, Scale: uint8(sc)}
	}
	return a, nil
}
