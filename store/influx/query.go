package influx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

// fluxString quotes s as a Flux string literal.
func fluxString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "${", `\${`)
	return `"` + r.Replace(s) + `"`
}

// fluxTime is t as a Flux time literal.
func fluxTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// flux is the query of one bucket's points of measurement meas that q
// selects, from (not q.From: retention may move it), of one field (any if
// empty): one row per field of each point. Pivoting in Flux would give
// one row per point, but it is slow on InfluxDB 1.8 (a month of an area
// took seconds); rows puts points together instead.
//
// Every predicate on tags sits in one filter right after range, so that
// the storage engine applies it. A Limit is applied to each series: the
// first n reads of a query are among the first n of their series.
func flux(bucket, meas string, from time.Time, q store.Query, field string) string {
	start, stop := "1970-01-01T00:00:00Z", "2262-01-01T00:00:00Z"
	if !from.IsZero() {
		start = fluxTime(from)
	}
	if !q.To.IsZero() {
		stop = fluxTime(q.To)
	}
	conds := []string{`r._measurement == ` + fluxString(meas)}
	if field != "" {
		conds = append(conds, `r._field == `+fluxString(field))
	}
	if len(q.Meters) > 0 {
		or := make([]string, len(q.Meters))
		for i, m := range q.Meters {
			or[i] = `r.meter == ` + fluxString(tagValue(m))
		}
		conds = append(conds, "("+strings.Join(or, " or ")+")")
	}
	if q.Area != "" {
		conds = append(conds, `r.area == `+fluxString(tagValue(q.Area)))
	}
	if q.Class != "" {
		conds = append(conds, `r.class == `+fluxString(tagValue(string(q.Class))))
	}
	if q.Quantity != "" {
		conds = append(conds, `r.quantity == `+fluxString(tagValue(q.Quantity)))
	}
	// InfluxDB 1.8 includes a point at range's stop; 2.x does not. This
	// makes it [from, to) on both (and stays a filter after the pushed
	// predicates).
	conds = append(conds, "r._time < "+stop)
	var b strings.Builder
	fmt.Fprintf(&b, "from(bucket: %s)\n  |> range(start: %s, stop: %s)\n  |> filter(fn: (r) => %s)\n",
		fluxString(bucket), start, stop, strings.Join(conds, " and "))
	if q.Limit > 0 {
		fmt.Fprintf(&b, "  |> limit(n: %d)\n", q.Limit)
	}
	b.WriteString(`  |> drop(columns: ["_start", "_stop", "_measurement"])` + "\n")
	return b.String()
}

// Query returns the reads that match q, ordered by (time, meter, class,
// quantity), none past Options.Retention.
func (s *Store) Query(ctx context.Context, q store.Query) ([]meter.Read, error) {
	groups := [][]store.Kind{{store.Registers}, {store.Raw}} // by bucket
	switch {
	case q.Class != "":
		groups = [][]store.Kind{{store.KindOf(q.Class)}}
	case s.opts.Raw == s.opts.Registers:
		groups = [][]store.Kind{{store.Raw, store.Registers}}
	}
	now := s.opts.Now()
	var out []meter.Read
	for _, kinds := range groups {
		rs, err := s.queryBucket(ctx, s.bucketOf(kinds[0]), kinds, q, now)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return inQueryOrder(out, q.Limit), nil
}

// inQueryOrder returns the first limit (0: all) of rs ordered by (time,
// meter, class, quantity). It sorts indexes, not the reads themselves,
// which are large.
func inQueryOrder(rs []meter.Read, limit int) []meter.Read {
	type key struct {
		t int64
		i int
	}
	keys := make([]key, len(rs))
	for i := range rs {
		keys[i] = key{store.Time(&rs[i]).UnixNano(), i}
	}
	slices.SortFunc(keys, func(x, y key) int {
		a, b := &rs[x.i], &rs[y.i]
		return cmp.Or(cmp.Compare(x.t, y.t), cmp.Compare(a.Meter, b.Meter), cmp.Compare(a.Class, b.Class),
			cmp.Compare(a.Quantity, b.Quantity), cmp.Compare(x.i, y.i))
	})
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	out := make([]meter.Read, len(keys))
	for j, k := range keys {
		out[j] = rs[k.i]
	}
	return out
}

// queryBucket returns the reads of bucket, which holds the kinds given,
// that q selects and are not past Options.Retention at now.
func (s *Store) queryBucket(ctx context.Context, bucket string, kinds []store.Kind, q store.Query, now time.Time) ([]meter.Read, error) {
	// The range starts at the oldest time any of its kinds keeps. Reads
	// of a kind kept for less are left out below, and then a limit per
	// series in Flux could keep the wrong ones.
	keep, forever := time.Duration(0), false
	for _, k := range kinds {
		d := s.retention(k)
		forever = forever || d == 0
		keep = max(keep, d)
		if d != s.retention(kinds[0]) {
			q.Limit = 0 // after Flux; Query still cuts at the limit
		}
	}
	if forever {
		keep = 0
	}
	from := q.From
	if keep > 0 {
		if oldest := now.Add(-keep); from.Before(oldest) {
			from = oldest
		}
	}
	if !q.To.IsZero() && !from.Before(q.To) {
		return nil, nil
	}
	rows, err := s.rows(ctx, flux(bucket, measReads, from, q, "rec"))
	if err != nil {
		return nil, fmt.Errorf("influx %s: bucket %s: query: %w", s.opts.URL, bucket, err)
	}
	out := make([]meter.Read, 0, len(rows))
	for _, row := range rows {
		r, err := parseRead(row)
		if err != nil {
			return nil, fmt.Errorf("influx %s: bucket %s: %w", s.opts.URL, bucket, err)
		}
		if s.opts.Retention.Expired(r.Class, store.Time(&r), now) {
			continue // a bucket shared by kinds kept for different times
		}
		out = append(out, r)
	}
	return out, nil
}

// row is one point: column name (or field name) to value.
type row map[string]any

func (s *Store) rows(ctx context.Context, fluxQuery string) ([]row, error) {
	// a QueryAPI per query: the client's caches its URL without a lock
	res, err := s.client.QueryAPI(s.opts.Org).Query(ctx, fluxQuery)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	return collect(res)
}

// collect puts the records of a query's result together into one row per
// key (meter, class, quantity, time): column name to value. A record
// without a _field (the result of count() and the like) is a row of its
// own.
func collect(res *api.QueryTableResult) ([]row, error) {
	type pointKey struct {
		meter, class, quantity string
		t                      int64
	}
	idx := map[pointKey]int{}
	var out []row
	for res.Next() {
		rec := res.Record()
		if rec == nil { // the client's parser says there is a row but has none (a row starting with an unknown "#...")
			return nil, errors.New("malformed query result")
		}
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
			out = append(out, row{"_time": rec.Time(), "meter": fromTag(k.meter), "class": fromTag(k.class), "quantity": fromTag(k.quantity)})
		}
		// A meter moved to another area holds a key in both: the one
		// read last is taken whole.
		out[i]["area"] = fromTag(str(v["area"]))
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
func parseRead(r row) (meter.Read, error) {
	rec, err := parseRecord(r.str("rec"))
	if err != nil {
		return meter.Read{}, fmt.Errorf("meter %s %s: field rec: %w", r.str("meter"), r.str("quantity"), err)
	}
	if rec.Scale > 18 {
		return meter.Read{}, fmt.Errorf("meter %s %s: scale %d out of range", r.str("meter"), r.str("quantity"), rec.Scale)
	}
	frames, err := decodeFrames(rec.Frames, rec.Tries)
	if err != nil {
		return meter.Read{}, fmt.Errorf("meter %s %s: frames: %w", r.str("meter"), r.str("quantity"), err)
	}
	return meter.Read{
		Meter: r.str("meter"), Area: r.str("area"), Channel: rec.Channel, Class: meter.Class(r.str("class")),
		DI: dlt645.DI(rec.DI), Edition: dlt645.Edition(rec.Edition), Quantity: r.str("quantity"),
		Value: dlt645.Decimal{Units: rec.Units, Scale: rec.Scale}, Text: rec.Text, Unit: rec.Unit,
		MeterTime: fromNanos(rec.MeterTime), ReadAt: fromNanos(rec.ReadAt), Status: meter.Status(rec.Status),
		Err: rec.Err, Frame: frames,
	}, nil
}
