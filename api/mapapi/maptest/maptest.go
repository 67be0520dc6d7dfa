// Package maptest makes a fleet for tests of the map API and of the
// dashboard's map: an archive whose areas, concentrators and meters stand
// at coordinates around a city centre, and a results store holding one
// day's balances and flags with every status planted (read, estimated,
// failed, flagged, an area without a balance, a flag already closed, a
// cluster of failed meters), and the counts the map should show.
package maptest

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
)

// Centre is where the fleet stands (latitude, longitude).
var Centre = [2]float64{31.2304, 121.4737}

// Zone is the fleet's time zone.
var Zone = time.FixedZone("CST", 8*3600)

// Options shape a fleet. Zero fields take the defaults.
type Options struct {
	Areas  int       // default 6
	Meters int       // customer meters per area; default 40
	Day    time.Time // the day of the balances, 00:00 in Zone; default 2025-06-10
	// NoCoordinates lists areas whose meters and concentrator (and the
	// area itself) have no coordinates in the archive.
	NoCoordinates []string
}

// Fleet is what New made.
type Fleet struct {
	Archive *archive.Index
	Results *results.Store
	Day     time.Time
	// Want is the count of meters by area and map status ("read",
	// "estimated", "failed", "flagged", "unknown").
	Want map[string]map[string]int
	// Failed are the failed meters of the second area (the cluster, and
	// those failed by the rule; not those flagged).
	Failed []string
}

// AreaID is the id of the k-th area (from 0).
func AreaID(k int) string { return fmt.Sprintf("M%02d", k+1) }

// Address is the address of meter i (0 = the area meter) of the k-th area.
func Address(k, i int) string { return fmt.Sprintf("%06d%06d", k+1, i) }

// New makes a fleet in a results store in t's temporary directory.
//
// In every area but the last, customer meter i is failed when i%13 == 4
// (in the second area also meters 1 to 8: the cluster), estimated when
// i%9 == 2, flagged (a stopped flag open that day) when i%19 == 6, and
// read otherwise; meter i%19 == 12 has a flag that closed two days before,
// and so keeps its read status. The third area's meter 1 is not in its
// balance (failed). The last area (when there are 3 or more) has no
// balance: every meter unknown. The first area has a flag on the area
// itself. A monthly balance that starts on the day, with no meters in it,
// must be ignored.
func New(t testing.TB, o Options) *Fleet {
	t.Helper()
	if o.Areas <= 0 {
		o.Areas = 6
	}
	if o.Meters <= 0 {
		o.Meters = 40
	}
	if o.Day.IsZero() {
		o.Day = time.Date(2025, 6, 10, 0, 0, 0, 0, Zone)
	}
	day := o.Day
	noCoords := map[string]bool{}
	for _, id := range o.NoCoordinates {
		noCoords[id] = true
	}
	f := &Fleet{Day: day, Want: map[string]map[string]int{}}
	var a archive.Archive
	var recs []store.Record
	seed := uint64(0x2545F4914F6CDD1D)
	rnd := func() float64 { // xorshift64: the same fleet every run
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return float64(seed%1_000_000) / 1_000_000
	}
	const spacing, spread = 0.009, 0.0016 // degrees: ~1 km between areas, ~180 m across one
	cols := 3
	for k := range o.Areas {
		id := AreaID(k)
		want := map[string]int{}
		f.Want[id] = want
		lat := Centre[0] + float64(k/cols)*spacing - spacing
		lon := Centre[1] + float64(k%cols)*spacing - spacing
		at := func(dlat, dlon float64) (float64, float64) {
			if noCoords[id] {
				return 0, 0
			}
			return lat + dlat, lon + dlon
		}
		ar := archive.Area{ID: id, Name: fmt.Sprintf("Area %d", k+1), Feeder: "F10-201", VoltageLevel: "10kV/0.4kV"}
		ar.Lat, ar.Lon = at(0, 0)
		a.Areas = append(a.Areas, ar)
		ch := archive.Channel{ID: fmt.Sprintf("C%02d-1", k+1), Kind: archive.KindDialIn, DialInID: fmt.Sprintf("C%02d", k+1)}
		a.Channels = append(a.Channels, ch)
		kc := archive.Concentrator{ID: ch.DialInID, Area: id, Channels: []string{ch.ID}}
		kc.Lat, kc.Lon = at(0.0002, 0.0001)
		a.Concentrators = append(a.Concentrators, kc)

		noBalance := o.Areas >= 3 && k == o.Areas-1
		bal := loss.Result{Area: id, Feeder: ar.Feeder, VoltageLevel: ar.VoltageLevel, Period: loss.Day(day), Class: loss.Qualified,
			Rate: loss.Decimal{Units: int64(300 + 97*k), Scale: 2}, HasRate: true, Expected: o.Meters}
		for i := range o.Meters + 1 {
			m := archive.Meter{Address: Address(k, i), Channel: ch.ID, Area: id, Role: archive.RoleCustomer, CT: 1, PT: 1,
				Customer: fmt.Sprintf("%s-%04d", id, i)}
			if i == 0 {
				m.Role, m.CT, m.Customer = archive.RoleArea, 100, ""
				m.Lat, m.Lon = at(0, 0)
			} else {
				m.Lat, m.Lon = at((rnd()-0.5)*spread, (rnd()-0.5)*spread)
			}
			a.Meters = append(a.Meters, m)
			mr := loss.MeterResult{Meter: m.Address, Role: m.Role, Multiplier: int64(m.CT), Status: loss.StatusRead}
			status := "read"
			switch {
			case noBalance:
				status = "unknown"
			case i == 0:
			case i%13 == 4 || (k == 1 && i <= 8):
				mr.Status, mr.Issue, mr.Reason = loss.StatusMissing, loss.IssueNoRead, "daily freeze missing"
				status = "failed"
			case i%9 == 2:
				mr.Status = loss.StatusEstimated
				status = "estimated"
			}
			if k == 2 && i == 1 && !noBalance {
				status = "failed" // left out of the balance below
			}
			if !noBalance && i > 0 && i%19 == 6 {
				status = "flagged"
				recs = append(recs, flag(anomaly.Flag{Kind: anomaly.Stopped, Meter: m.Address, Area: id, Start: day.AddDate(0, 0, -3), End: day,
					Confidence: 0.8, Summary: "no energy for 3 days"}))
			}
			if !noBalance && i > 0 && i%19 == 12 {
				recs = append(recs, flag(anomaly.Flag{Kind: anomaly.NoAnswer, Meter: m.Address, Area: id, Start: day.AddDate(0, 0, -10), End: day.AddDate(0, 0, -2),
					Confidence: 0.7, Summary: "closed before the day"}))
			}
			want[status]++
			if k == 1 && status == "failed" {
				f.Failed = append(f.Failed, m.Address)
			}
			switch {
			case i == 0:
				bal.AreaMeter = &mr
			case k == 2 && i == 1:
			default:
				bal.Meters = append(bal.Meters, mr)
			}
		}
		if !noBalance {
			recs = append(recs, balance(&bal))
		}
		month := loss.Result{Area: id, Period: loss.Period{Kind: loss.Monthly, Start: day, End: day.AddDate(0, 1, 0)}, Class: loss.High}
		recs = append(recs, balance(&month))
		if k == 0 {
			recs = append(recs, flag(anomaly.Flag{Kind: anomaly.LossClassChange, Area: id, Start: day, End: day, Confidence: 0.9, Summary: "qualified to high"}))
		}
	}
	if err := a.Validate(); err != nil {
		t.Fatalf("maptest: the archive does not validate: %v", err)
	}
	f.Archive = a.Index()
	var err error
	f.Results, err = results.Open(filepath.Join(t.TempDir(), "results.db"), results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Results.Close() })
	if _, err := f.Results.Put(context.Background(), recs); err != nil {
		t.Fatalf("maptest: storing %d records: %v", len(recs), err)
	}
	return f
}

func balance(r *loss.Result) store.Record {
	return store.Record{Kind: analysis.KindLoss, Key: analysis.LossKey(r.Area, r.Period), Area: r.Area, Time: r.Period.Start, Body: body(r)}
}

func flag(fl anomaly.Flag) store.Record {
	return store.Record{Kind: analysis.KindFlag, Key: analysis.FlagKey(&fl), Area: fl.Area, Meter: fl.Meter, Time: fl.Start, Body: body(fl)}
}

func body(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("maptest: " + err.Error())
	}
	return b
}
