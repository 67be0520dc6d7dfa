package influx

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/collector/read"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// fluxString quotes s as a Flux string literal.
func fluxString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "${", `\${`)
	return `"` + r.Replace(s) + `"`
}

// fluxRange is range() over [from, to); zero ends are open.
func fluxRange(from, to time.Time) string {
	start, stop := "1970-01-01T00:00:00Z", "2262-01-01T00:00:00Z"
	if !from.IsZero() {
		start = from.UTC().Format(time.RFC3339Nano)
	}
	if !to.IsZero() {
		stop = to.UTC().Format(time.RFC3339Nano)
	}
	// InfluxDB 1.8's storage includes a point at stop: filter it out so
	// that the range is [from, to) on every server
	return fmt.Sprintf("range(start: %s, stop: %s)\n  |> filter(fn: (r) => r._time < %s)", start, stop, stop)
}

// fluxFilter selects by measurement and the Query's tags.
func fluxFilter(meas string, q store.Query, field string) string {
	conds := []string{`r._measurement == ` + fluxString(meas)}
	if field != "" {
		conds = append(conds, `r._field == `+fluxString(field))
	}
	if len(q.Meters) > 0 {
		or := make([]string, len(q.Meters))
		for i, m := range q.Meters {
			or[i] = `r.meter == ` + fluxString(m)
		}
		conds = append(conds, "("+strings.Join(or, " or ")+")")
	}
	if q.Area != "" {
		conds = append(conds, `r.area == `+fluxString(q.Area))
	}
	if q.Class != "" {
		conds = append(conds, `r.class == `+fluxString(string(q.Class)))
	}
	if q.Quantity != "" {
		conds = append(conds, `r.quantity == `+fluxString(q.Quantity))
	}
	return "filter(fn: (r) => " + strings.Join(conds, " and ") + ")"
}

// flux is the whole query of one bucket: one row per field of each
// point. Pivoting in Flux would give one row per point, but it is slow
// on InfluxDB 1.8 (a month of an area took seconds); points are put
// together by rows instead.
func flux(bucket, meas string, q store.Query, field string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "from(bucket: %s)\n  |> %s\n  |> %s\n", fluxString(bucket), fluxRange(q.From, q.To), fluxFilter(meas, q, field))
	b.WriteString(`  |> drop(columns: ["_start", "_stop", "_measurement"])` + "\n")
	return b.String()
}

// buckets lists the buckets a query of class c must read.
func (s *Store) buckets(c read.Class) []string {
	if c != "" {
		return []string{s.bucket(c)}
	}
	if s.opts.Raw == s.opts.Registers {
		return []string{s.opts.Raw}
	}
	return []string{s.opts.Registers, s.opts.Raw}
}

// Query returns the reads that match q, ordered by (time, meter, class,
// quantity).
func (s *Store) Query(ctx context.Context, q store.Query) ([]read.Read, error) {
	var out []read.Read
	for _, bk := range s.buckets(q.Class) {
		rows, err := s.rows(ctx, flux(bk, measReads, q, "rec"))
		if err != nil {
			return nil, fmt.Errorf("influx %s bucket %s: query: %w", s.opts.URL, bk, err)
		}
		for _, row := range rows {
			r, err := parseRead(row)
			if err != nil {
				return nil, fmt.Errorf("influx %s bucket %s: %w", s.opts.URL, bk, err)
			}
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b read.Read) int {
		return cmp.Or(store.Time(&a).Compare(store.Time(&b)), cmp.Compare(a.Meter, b.Meter),
			cmp.Compare(a.Class, b.Class), cmp.Compare(a.Quantity, b.Quantity))
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// row is one pivoted record: column name to value.
type row map[string]any

func (s *Store) rows(ctx context.Context, fluxQuery string) ([]row, error) {
	// a QueryAPI per query: the client's caches its URL without a lock
	res, err := s.client.QueryAPI(s.opts.Org).Query(ctx, fluxQuery)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	type pointKey struct {
		meter, class, quantity string
		t                      int64
	}
	idx := map[pointKey]int{}
	var out []row
	for res.Next() {
		rec := res.Record()
		v := rec.Values()
		field, _ := v["_field"].(string)
		if field == "" { // an aggregate such as count()
			out = append(out, row(v))
			continue
		}
		k := pointKey{str(v["meter"]), str(v["class"]), str(v["quantity"]), rec.Time().UnixNano()}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, row{"_time": rec.Time(), "meter": k.meter, "area": v["area"], "class": k.class, "quantity": k.quantity})
		}
		out[i][field] = rec.Value()
	}
	return out, res.Err()
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func (r row) str(k string) string {
	s, _ := r[k].(string)
	return s
}

func (r row) int(k string) (int64, error) {
	switch v := r[k].(type) {
	case int64:
		return v, nil
	case nil:
		return 0, nil
	case float64:
		return int64(v), nil
	case uint64:
		return int64(v), nil
	}
	return 0, fmt.Errorf("field %s: %T is not an integer", k, r[k])
}

func (r row) time() (time.Time, error) {
	t, ok := r["_time"].(time.Time)
	if !ok {
		return time.Time{}, fmt.Errorf("record without a _time (%T)", r["_time"])
	}
	return t, nil
}

// parseRead turns a point back into a read. It refuses a point whose rec
// field does not parse (a point written by something else).
func parseRead(r row) (read.Read, error) {
	var rec record
	if err := json.Unmarshal([]byte(r.str("rec")), &rec); err != nil {
		return read.Read{}, fmt.Errorf("meter %s %s: field rec: %w", r.str("meter"), r.str("quantity"), err)
	}
	if rec.Scale > 18 {
		return read.Read{}, fmt.Errorf("meter %s %s: scale %d out of range", r.str("meter"), r.str("quantity"), rec.Scale)
	}
	frames, err := decodeFrames(rec.Frames, rec.Tries)
	if err != nil {
		return read.Read{}, fmt.Errorf("meter %s %s: frames: %w", r.str("meter"), r.str("quantity"), err)
	}
	return read.Read{
		Meter: r.str("meter"), Area: r.str("area"), Channel: rec.Channel, Class: read.Class(r.str("class")),
		DI: dlt645.DI(rec.DI), Edition: dlt645.Edition(rec.Edition), Quantity: r.str("quantity"),
		Value: dlt645.Decimal{Units: rec.Units, Scale: rec.Scale}, Text: rec.Text, Unit: rec.Unit,
		MeterTime: fromNanos(rec.MeterTime), ReadAt: fromNanos(rec.ReadAt), Status: read.Status(rec.Status),
		Err: rec.Err, Frame: frames,
	}, nil
}
