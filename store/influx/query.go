package influx

import (
	"cmp"
	"context"
	"encoding/hex"
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
	var refs []frameRef
	for _, row := range rows {
		r, fh, err := parseReadRef(row)
		if err != nil {
			return nil, fmt.Errorf("influx %s: bucket %s: %w", s.opts.URL, bucket, err)
		}
		if s.opts.Retention.Expired(r.Class, store.Time(&r), now) {
			continue // a bucket shared by kinds kept for different times
		}
		if fh != "" {
			k, err := frameSetAt(r.Meter, fh, r.ReadAt, store.Time(&r))
			if err != nil {
				return nil, fmt.Errorf("influx %s: bucket %s: meter %s %s: %w", s.opts.URL, bucket, r.Meter, r.Quantity, err)
			}
			refs = append(refs, frameRef{len(out), fh, k})
		}
		out = append(out, r)
	}
	if err := s.joinFrames(ctx, bucket, out, refs); err != nil {
		return nil, fmt.Errorf("influx %s: bucket %s: frames: %w", s.opts.URL, bucket, err)
	}
	return out, nil
}

// frameRef is a read of a query (its index) that refers to a frames
// point.
type frameRef struct {
	i    int
	hash string
	at   frameKey
}

// joinFrames fills in the frames of the reads refs name from their
// frames points in bucket, in one query. A frames point that is not
// there (gone before its reads: a ReadAt far before the read's time, and
// a retention between them) leaves the read without frames, and is
// logged.
func (s *Store) joinFrames(ctx context.Context, bucket string, reads []meter.Read, refs []frameRef) error {
	if len(refs) == 0 {
		return nil
	}
	lo, hi := refs[0].at.at, refs[0].at.at
	seen := map[string]bool{}
	var meters []string
	for _, f := range refs {
		lo, hi = min(lo, f.at.at), max(hi, f.at.at)
		if !seen[f.at.meter] {
			seen[f.at.meter] = true
			meters = append(meters, f.at.meter)
		}
	}
	rows, err := s.rows(ctx, framesFlux(bucket, meters, lo, hi))
	if err != nil {
		return err
	}
	points := make(map[frameKey]row, len(rows))
	for _, r := range rows {
		t, err := r.time()
		if err != nil {
			return err
		}
		points[frameKey{r.str("meter"), t.UnixNano()}] = r
	}
	type set struct {
		hash string
		fr   meter.FrameRef
	}
	parsed := map[frameKey]set{}
	missing := 0
	for _, f := range refs {
		p, ok := parsed[f.at]
		if !ok {
			pt, found := points[f.at]
			if found {
				if p.fr, err = parseFrameSet(pt); err != nil {
					return fmt.Errorf("meter %s at %d: %w", f.at.meter, f.at.at, err)
				}
				h := frameHash(&p.fr)
				p.hash = hex.EncodeToString(h[:])
			}
			parsed[f.at] = p
		}
		if p.hash != f.hash {
			missing++
			continue
		}
		r := &reads[f.i]
		fr := p.fr
		fr.Tries = r.Frame.Tries
		r.Frame = fr
	}
	if missing > 0 {
		s.log.Warn("reads whose frames are not stored, returned without them", "bucket", bucket, "reads", missing)
	}
	return nil
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
	read, _, err := parseReadRef(r)
	return read, err
}

// parseReadRef is parseRead that also returns the hash of the read's
// frames point, if its frames are in one (frames.go).
func parseReadRef(r row) (meter.Read, string, error) {
	rec, err := parseRecord(r.str("rec"))
	if err != nil {
		return meter.Read{}, "", fmt.Errorf("meter %s %s: field rec: %w", r.str("meter"), r.str("quantity"), err)
	}
	read, err := readOf(r, &rec)
	return read, rec.FrameSet, err
}

// readOf is the read of a point whose rec is rec.
func readOf(r row, rec *record) (meter.Read, error) {
	if rec.Scale > 18 {
		return meter.Read{}, fmt.Errorf("meter %s %s: scale %d out of range", r.str("meter"), r.str("quantity"), rec.Scale)
	}
	frames, err := decodeFrames(rec.Frames, rec.Tries)
	if err != nil {
		return meter.Read{}, fmt.Errorf("meter %s %s: frames: %w", r.str("meter"), r.str("quantity"), err)
	}
	if frames.Earlier, err = decodeEarlier(rec.Earlier); err != nil {
		return meter.Read{}, fmt.Errorf("meter %s %s: earlier exchanges: %w", r.str("meter"), r.str("quantity"), err)
	}
	frames.Dropped = rec.Dropped
	return meter.Read{
		Meter: r.str("meter"), Area: r.str("area"), Channel: rec.Channel, Class: meter.Class(r.str("class")),
		DI: dlt645.DI(rec.DI), Edition: dlt645.Edition(rec.Edition), Quantity: r.str("quantity"),
		Value: dlt645.Decimal{Units: rec.Units, Scale: rec.Scale}, Text: rec.Text, Unit: rec.Unit,
		MeterTime: fromNanos(rec.MeterTime), ReadAt: fromNanos(rec.ReadAt), Status: meter.Status(rec.Status),
		Err: rec.Err, Frame: frames,
	}, nil
}
