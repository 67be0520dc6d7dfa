package influx

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
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
func fluxFilter(meas string, q store.Query) string {
	conds := []string{`r._measurement == ` + fluxString(meas)}
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

// flux is the whole query of one bucket: one row per point with every
// field as a column, in time order.
func flux(bucket, meas string, q store.Query) string {
	var b strings.Builder
	fmt.Fprintf(&b, "from(bucket: %s)\n  |> %s\n  |> %s\n", fluxString(bucket), fluxRange(q.From, q.To), fluxFilter(meas, q))
	b.WriteString(`  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")` + "\n")
	b.WriteString(`  |> group()` + "\n")
	b.WriteString(`  |> sort(columns: ["_time", "meter", "class", "quantity"])` + "\n")
	if q.Limit > 0 {
		fmt.Fprintf(&b, "  |> limit(n: %d)\n", q.Limit)
	}
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
		rows, err := s.rows(ctx, flux(bk, measReads, q))
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
	var out []row
	for res.Next() {
		out = append(out, row(res.Record().Values()))
	}
	return out, res.Err()
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

// parseRead turns a pivoted record back into a read. It refuses a record
// whose fields do not fit (a point written by something else).
func parseRead(r row) (read.Read, error) {
	var ints [8]int64
	for i, k := range []string{"units", "scale", "di", "edition", "meter_time", "read_at", "tries"} {
		v, err := r.int(k)
		if err != nil {
			return read.Read{}, err
		}
		ints[i] = v
	}
	if ints[1] < 0 || ints[1] > 18 {
		return read.Read{}, fmt.Errorf("field scale: %d out of range", ints[1])
	}
	frames, err := decodeFrames(r.str("frames"), int(ints[6]))
	if err != nil {
		return read.Read{}, fmt.Errorf("field frames: %w", err)
	}
	rd := read.Read{
		Meter: r.str("meter"), Area: r.str("area"), Channel: r.str("channel"), Class: read.Class(r.str("class")),
		DI: dlt645.DI(uint32(ints[2])), Edition: dlt645.Edition(ints[3]), Quantity: r.str("quantity"),
		Value: dlt645.Decimal{Units: ints[0], Scale: uint8(ints[1])}, Text: r.str("text"), Unit: r.str("unit"),
		MeterTime: fromNanos(ints[4]), ReadAt: fromNanos(ints[5]), Status: read.Status(r.str("status")),
		Err: r.str("err"), Frame: frames,
	}
	if rd.MeterTime.IsZero() && rd.ReadAt.IsZero() {
		// the point's time is the read's time; keep it
		t, err := r.time()
		if err != nil {
			return read.Read{}, err
		}
		rd.ReadAt = t
	}
	return rd, nil
}

var _ = strconv.Itoa
