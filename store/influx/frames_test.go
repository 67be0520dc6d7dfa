package influx

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/storetest"
)

// countFrames is the number of frames points in bucket with field.
func countFrames(t *testing.T, st *Store, bucket, field string) int64 {
	t.Helper()
	rows, err := st.rows(context.Background(), fmt.Sprintf(`from(bucket: %s) |> range(start: 1970-01-01T00:00:00Z) `+
		`|> filter(fn: (r) => r._measurement == "frames" and r._field == %s) |> group() |> count()`, fluxString(bucket), fluxString(field)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return 0
	}
	n, _ := rows[0].int("_value")
	return n
}

// TestFramesOncePerTransaction writes an instantaneous task and a
// load-profile task of storetest.MeterDay: their frames are one point per
// transaction (the four records of the load-profile read, 28 reads, share
// one), and every read comes back with its frames.
func TestFramesOncePerTransaction(t *testing.T) {
	st, b := newDB(t, store.Retention{})
	ctx := context.Background()
	day := storetest.MeterDay(t)
	inst, prof := store.Thin(day[0]), store.Thin(day[96])
	exchanges := map[string]bool{}
	for _, r := range inst {
		exchanges[fmt.Sprintf("%X %X", r.Frame.Request, r.Frame.Reply)] = true
	}
	for _, batch := range [][]meter.Read{inst, prof} {
		if err := st.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if n, want := countFrames(t, st, b.Raw, "fr"), int64(len(exchanges)+1); n != want {
		t.Errorf("%d frames points, want %d (%d exchanges of the instantaneous task, 1 of the load profile)", n, want, len(exchanges))
	}
	got, err := st.Query(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.ExpectReads(t, "all", got, sortReads(append(inst, prof...)))
	// a query of one quantity finds its frames too
	q := store.Query{Class: meter.Interval, Quantity: "phase A voltage"}
	got, err = st.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var want []meter.Read
	for _, r := range prof {
		if r.Quantity == q.Quantity {
			want = append(want, r)
		}
	}
	storetest.ExpectReads(t, "phase A voltage", got, sortReads(want))
}

// TestFramesEarlierAndInline: a failed read's earlier exchanges and
// dropped count travel in its frames point; a read whose frames point
// would fall outside InfluxDB's times (a ReadAt in 1677) keeps them in
// rec, as points written before frames had a measurement do; both read
// back whole.
func TestFramesEarlierAndInline(t *testing.T) {
	st, b := newDB(t, store.Retention{})
	ctx := context.Background()
	at := time.Date(2025, 4, 2, 0, 0, 30, 0, time.UTC)
	failed := meter.Read{Meter: "000000000007", Area: "A", Class: meter.Instantaneous, Quantity: "voltage", ReadAt: at,
		Status: meter.Failed, Err: "link: no reply before the deadline",
		Frame: meter.FrameRef{Tries: 3, Dropped: 1, Earlier: []meter.Exchange{
			{Request: []byte{0x68, 0x11}, Err: "link: no reply before the deadline"},
			{Request: []byte{0x68, 0x11}, Received: [][]byte{{0x68, 0x91, 0x00}}, Err: "bad checksum"},
		}}}
	inline := meter.Read{Meter: "000000000007", Area: "A", Class: meter.Instantaneous, Quantity: "current",
		MeterTime: at, ReadAt: minTime, Status: meter.OK,
		Frame: meter.FrameRef{Tries: 1, Request: []byte{0x68, 0x22}, Reply: [][]byte{{0x68, 0xA2}}}}
	if _, ok := frameSetOf(&inline); ok {
		t.Fatal("a frames point for a ReadAt at InfluxDB's first nanosecond")
	}
	if err := st.Write(ctx, []meter.Read{failed, inline}); err != nil {
		t.Fatal(err)
	}
	if n, fr := countFrames(t, st, b.Raw, "ex"), countFrames(t, st, b.Raw, "fr"); n != 1 || fr != 0 {
		t.Errorf("%d frames points with earlier exchanges and %d with frames, want 1 and 0", n, fr)
	}
	got, err := st.Query(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.ExpectReads(t, "both", got, sortReads([]meter.Read{failed, inline}))
}

// TestFramesMissing: reads whose frames point is gone come back without
// frames (their values are not lost with them), and the store says so.
func TestFramesMissing(t *testing.T) {
	st, b := newDB(t, store.Retention{})
	var logged strings.Builder
	st.log = slog.New(slog.NewTextHandler(&logged, nil))
	ctx := context.Background()
	day := storetest.MeterDay(t)
	if err := st.Write(ctx, day[0]); err != nil {
		t.Fatal(err)
	}
	db, _, _ := strings.Cut(b.Raw, "/")
	if err := influxQLOn(ctx, db, "DROP MEASUREMENT frames"); err != nil {
		t.Fatal(err)
	}
	got, err := st.Query(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	want := store.Thin(day[0])
	if len(got) != len(want) {
		t.Fatalf("%d reads, want %d", len(got), len(want))
	}
	for _, r := range got {
		if r.Frame.Request != nil || r.Frame.Reply != nil || r.Frame.Tries != 1 {
			t.Fatalf("%s: frames %+v, want none and 1 try", r.Quantity, r.Frame)
		}
	}
	if !strings.Contains(logged.String(), "without them") {
		t.Errorf("log: %q", logged.String())
	}
}

// influxQLOn runs an InfluxQL statement on database db of the test server.
func influxQLOn(ctx context.Context, db, q string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.url+"/query",
		strings.NewReader(url.Values{"q": {q}, "db": {db}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: HTTP %d", q, resp.StatusCode)
	}
	return nil
}
