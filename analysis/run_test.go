package analysis_test

import (
	"context"
	"encoding/json"
	. "github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/analysistest"
	"path/filepath"
	"testing"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
	"github.com/headend/headend/store/sqlite"
)

// A run over the embedded stores stores balances and flags once; a late
// read revises the balances it enters, and the change feed shows each
// revision once.
func TestRunStoresAndRevises(t *testing.T) {
	analysistest.Heavy(t)
	ctx := context.Background()
	cfg := analysistest.LoadConfig(t, "../testdata/scenarios/demo.yaml")
	in, fl := analysistest.Simulate(t, cfg, 20)
	dir := t.TempDir()
	loc := fl.Zone()
	rs, err := sqlite.Open(filepath.Join(dir, "reads.db"), sqlite.Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	res, err := results.Open(filepath.Join(dir, "results.db"), results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	// one customer's freeze of day 15 arrives late
	lateDay := fl.Start().AddDate(0, 0, 15)
	var meterID string
	for _, m := range fl.Area("D01").Customers {
		if m.Edition == 2007 && len(m.Faults) == 0 && m.PVKW == 0 {
			meterID = m.Address
			break
		}
	}
	var late, first []meter.Read
	for _, r := range append(in.Registers, in.Instant...) {
		if r.Meter == meterID && r.Class == meter.Daily && r.MeterTime.Equal(lateDay) {
			late = append(late, r)
			continue
		}
		first = append(first, r)
	}
	if len(late) != 2 {
		t.Fatalf("%d reads of %s on %s", len(late), meterID, lateDay)
	}
	if err := rs.Write(ctx, first); err != nil {
		t.Fatal(err)
	}
	a := New(rs, res, in.Archive, Options{Location: loc})
	now := fl.Start().AddDate(0, 0, 20).Add(90 * time.Minute)
	s, err := a.Run(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run: %+v", s)
	if s.Balances != len(fl.Areas())*14 || s.Stored == 0 || s.Revised != 0 {
		t.Fatalf("first run: %+v", s)
	}
	key := results.LossKey("D01", string(loss.Daily), loss.Day(lateDay).Start)
	cur, _ := res.Current(ctx, store.RecordQuery{Kind: results.KindLoss, Area: "D01", From: lateDay, To: lateDay.Add(time.Hour)})
	var r loss.Result
	// the late meter interpolated (VEE: no Estimate of the balance's own)
	interpolated := func(r *loss.Result) bool {
		mr, ok := r.Meter(meterID)
		return ok && mr.Status == loss.StatusEstimated && mr.Estimate == ""
	}
	if len(cur) != 1 || json.Unmarshal(cur[0].Body, &r) != nil || !interpolated(&r) {
		t.Fatalf("D01 on %s before the late read: %d records, %d estimated (want %s interpolated); %q", lateDay.Format(time.DateOnly), len(cur), r.Estimated, meterID, r.Reasons)
	}
	cursor := cur[0].Seq
	feed, _ := res.Since(ctx, 0, nil, 1<<20)
	cursor = feed[len(feed)-1].Seq
	// a second run changes nothing
	if s, err = a.Run(ctx, now); err != nil || s.Stored != 0 {
		t.Fatalf("second run stored %d: %v", s.Stored, err)
	}
	// the late read
	if err := rs.Write(ctx, late); err != nil {
		t.Fatal(err)
	}
	if s, err = a.Run(ctx, now); err != nil || s.Revised == 0 {
		t.Fatalf("run after the late read: %+v %v", s, err)
	}
	h, _ := res.History(ctx, results.KindLoss, key)
	if len(h) != 2 || json.Unmarshal(h[1].Body, &r) != nil || interpolated(&r) || r.Read+r.Estimated != r.Expected-r.Missing {
		t.Fatalf("history of %s: %d versions, now %d estimated", key, len(h), r.Estimated)
	}
	if mr, _ := r.Meter(meterID); mr.Status != loss.StatusRead {
		t.Fatalf("%s after its late read: %s", meterID, mr.Status)
	}
	feed, _ = res.Since(ctx, cursor, []string{results.KindLoss}, 0)
	seen := map[string]int{}
	for _, f := range feed {
		seen[f.Key]++
	}
	if seen[key] != 1 || seen[results.LossKey("D01", string(loss.Daily), loss.Day(lateDay.AddDate(0, 0, -1)).Start)] != 1 {
		t.Fatalf("feed after the late read: %v", seen)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s revised %d times in one run", k, n)
		}
	}
}
