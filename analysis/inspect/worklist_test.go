package inspect

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/headend/headend/store/results"
)

func TestWorkList(t *testing.T) {
	rs, err := results.Open(filepath.Join(t.TempDir(), "r.db"), results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	ctx := context.Background()
	l := &List{Results: rs}
	month := day(6, 15)
	items := Rank(fixture(t))
	es, err := l.Save(ctx, month, items)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 5 || es[0].ID != "I202506-001" || es[0].Target != "A3" || es[0].Status != Open || es[4].ID != "I202506-005" || es[0].Month != "2025-06" {
		t.Fatalf("%+v", es)
	}
	// saved again unchanged: nothing new stored
	if _, err := l.Save(ctx, month, items); err != nil {
		t.Fatal(err)
	}
	if _, h, _ := l.Get(ctx, "I202506-001"); len(h) != 1 {
		t.Errorf("%d versions after an unchanged save", len(h))
	}
	// checked, with fault energy
	at := day(7, 2)
	e, err := l.Check(ctx, "I202506-004", Check{Finding: " area meter faulty from 2025-06-10 ", Who: "Li Wei", At: at,
		Fault: &FaultEnergy{From: "2025-06-10", To: "2025-06-15", KWh: "120.5", Correction: "C0000001"}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Target != "A1" || e.Status != Checked || e.Finding != "area meter faulty from 2025-06-10" || e.CheckedBy != "Li Wei" || !e.CheckedAt.Equal(at) {
		t.Errorf("%+v", e)
	}
	// a new ranking: A1 drops out, A3 moves; the check is kept
	items2 := Rank(fixture(t))
	items2 = append(items2[:3:3], items2[4])
	items2[0].Score = 9
	es, err = l.Save(ctx, month, items2)
	if err != nil {
		t.Fatal(err)
	}
	last := es[len(es)-1]
	if last.ID != "I202506-004" || last.Rank != 0 || last.Status != Checked || last.FaultEnergy == nil || last.FaultEnergy.KWh != "120.5" {
		t.Errorf("A1 after the new ranking: %+v", last)
	}
	got, h, err := l.Get(ctx, "I202506-004")
	if err != nil || len(h) != 3 || got.Rank != 0 {
		t.Errorf("A1 history: %d versions, %+v, %v", len(h), got, err)
	}
	if _, h, _ := l.Get(ctx, "I202506-001"); len(h) != 2 {
		t.Errorf("A3: %d versions", len(h))
	}
	if _, err := l.Check(ctx, "I202506-999", Check{Finding: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown item: %v", err)
	}
	if _, err := l.Check(ctx, "I202506-001", Check{Finding: "  "}); err == nil {
		t.Error("a check without a finding")
	}
	// another month numbers from 1
	es, err = l.Save(ctx, day(7, 1), items[:1])
	if err != nil || len(es) != 1 || es[0].ID != "I202507-001" {
		t.Errorf("July: %+v %v", es, err)
	}
}
