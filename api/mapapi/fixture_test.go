package mapapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/api/mapapi"
	"github.com/headend/headend/api/mapapi/maptest"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/daemon/config"
)

func service(f *maptest.Fleet) *mapapi.Service {
	return &mapapi.Service{Results: f.Results, Archive: func() *archive.Index { return f.Archive }, Location: maptest.Zone,
		Now: func() time.Time { return f.Day.AddDate(0, 0, 1).Add(90 * time.Minute) }}
}

// Every status planted in the fleet shows, counted per area, at the
// archive's coordinates.
func TestMapStatuses(t *testing.T) {
	f := maptest.New(t, maptest.Options{})
	srv := serve(t, service(f))
	var m mapapi.Map
	get(t, srv.URL+"/api/v1/map", 200, &m)
	if m.Date != "2025-06-10" || m.Layout != mapapi.FromArchive {
		t.Fatalf("date %s, layout %s; want 2025-06-10 from the archive", m.Date, m.Layout)
	}
	got := map[string]map[string]int{}
	for _, mt := range m.Meters {
		if got[mt.Area] == nil {
			got[mt.Area] = map[string]int{}
		}
		got[mt.Area][string(mt.Status)]++
		am, _ := f.Archive.Meter(mt.Address)
		if mt.Placed != "archive" || mt.Lat != am.Lat || mt.Lon != am.Lon {
			t.Errorf("meter %s at %v,%v placed %s; the archive has %v,%v", mt.Address, mt.Lat, mt.Lon, mt.Placed, am.Lat, am.Lon)
		}
	}
	for _, ar := range m.Areas {
		want := f.Want[ar.ID]
		counts := map[string]int{"read": ar.Read, "estimated": ar.Estimated, "failed": ar.Failed, "flagged": ar.Flagged, "unknown": ar.Unknown}
		for _, st := range []string{"read", "estimated", "failed", "flagged", "unknown"} {
			if counts[st] != want[st] || got[ar.ID][st] != want[st] {
				t.Errorf("area %s: %d %s in its counts, %d meters %s; want %d", ar.ID, counts[st], st, got[ar.ID][st], st, want[st])
			}
		}
	}
	if len(m.Areas) != 6 || m.Areas[5].Unknown != m.Areas[5].Meters || m.Areas[5].Class != "not_computable" || m.Areas[5].Rate != "" {
		t.Errorf("the last area has no balance: %+v", m.Areas[len(m.Areas)-1])
	}
	if a := m.Areas[0]; a.Class != "qualified" || a.Rate != "3.00" || strings.Join(a.Flags, ",") != "loss_class_change" {
		t.Errorf("area %s: class %s rate %s flags %v; want qualified 3.00 with its loss_class_change flag", a.ID, a.Class, a.Rate, a.Flags)
	}
	byAddr := map[string]mapapi.Meter{}
	for _, mt := range m.Meters {
		byAddr[mt.Address] = mt
	}
	for addr, want := range map[string]string{
		maptest.Address(0, 6):  "flagged stopped read", // a stopped flag open that day
		maptest.Address(0, 12): "read  read",           // its flag closed before
		maptest.Address(0, 4):  "failed  failed",
		maptest.Address(0, 2):  "estimated  estimated",
		maptest.Address(2, 1):  "failed  failed", // not in the balance
		maptest.Address(5, 3):  "unknown  unknown",
	} {
		mt := byAddr[addr]
		if got := string(mt.Status) + " " + strings.Join(mt.Flags, ",") + " " + string(mt.ReadStatus); got != want {
			t.Errorf("meter %s: %q, want %q", addr, got, want)
		}
	}
	if r := byAddr[maptest.Address(0, 4)].Reason; r != "daily freeze missing" {
		t.Errorf("failed meter's reason %q", r)
	}
	if len(m.Concentrators) != 6 || m.Concentrators[0].Placed != "archive" || m.Concentrators[0].Lat == 0 {
		t.Errorf("concentrators %+v", m.Concentrators)
	}

	var one mapapi.Map
	get(t, srv.URL+"/api/v1/map?area=M02&date=2025-06-10", 200, &one)
	if len(one.Areas) != 1 || one.Areas[0].Failed != f.Want["M02"]["failed"] || len(one.Concentrators) != 1 || len(one.Meters) != 41 {
		t.Errorf("area M02: %d areas %+v, %d concentrators, %d meters", len(one.Areas), one.Areas, len(one.Concentrators), len(one.Meters))
	}
	var other mapapi.Map
	get(t, srv.URL+"/api/v1/map?date=2025-06-11", 200, &other)
	if other.Areas[0].Unknown != other.Areas[0].Meters {
		t.Errorf("a day without balances: %+v", other.Areas[0])
	}
}

// Areas without coordinates are laid out beside the others: a mixed
// layout, the same every time, every laid-out meter nearer its own
// area's centre than any other.
func TestMapMixedLayout(t *testing.T) {
	f := maptest.New(t, maptest.Options{Areas: 5, Meters: 60, NoCoordinates: []string{"M02", "M05"}})
	svc := service(f)
	m, err := svc.Build(context.Background(), f.Archive, f.Day, "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Layout != mapapi.Mixed {
		t.Fatalf("layout %s, want mixed", m.Layout)
	}
	centre := map[string]mapapi.Area{}
	for _, a := range m.Areas {
		centre[a.ID] = a
	}
	for _, mt := range m.Meters {
		want := "archive"
		if mt.Area == "M02" || mt.Area == "M05" {
			want = "synthetic"
		}
		if mt.Placed != want {
			t.Errorf("meter %s of %s placed %s, want %s", mt.Address, mt.Area, mt.Placed, want)
		}
		for id, c := range centre {
			own := centre[mt.Area]
			if id != mt.Area && dist(mt.Lat, mt.Lon, c.Lat, c.Lon) <= dist(mt.Lat, mt.Lon, own.Lat, own.Lon) {
				t.Errorf("meter %s of %s at %v,%v is as near to %s's centre", mt.Address, mt.Area, mt.Lat, mt.Lon, id)
			}
		}
	}
	if c := m.Concentrators[1]; c.Placed != "synthetic" || c.Lat == 0 {
		t.Errorf("M02's concentrator %+v, want laid out", c)
	}
	again, _ := svc.Build(context.Background(), f.Archive, f.Day, "")
	for i := range m.Meters {
		if m.Meters[i].Lat != again.Meters[i].Lat || m.Meters[i].Lon != again.Meters[i].Lon {
			t.Fatalf("meter %s at %v,%v, then at %v,%v", m.Meters[i].Address, m.Meters[i].Lat, m.Meters[i].Lon, again.Meters[i].Lat, again.Meters[i].Lon)
		}
	}
}

// The demo's archive (configs/headend.yaml and its CSVs) places every
// meter and concentrator: the map of the demo is drawn from the archive,
// each meter near its own area.
func TestMapDemoArchive(t *testing.T) {
	cfg, err := config.Load("../../configs/headend.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := maptest.New(t, maptest.Options{Areas: 1, Meters: 1}) // an empty day: only its results store is used
	ix := cfg.Archive.Index()
	svc := &mapapi.Service{Results: f.Results, Archive: func() *archive.Index { return ix }, Location: maptest.Zone, Now: time.Now}
	m, err := svc.Build(context.Background(), ix, f.Day, "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Layout != mapapi.FromArchive || len(m.Meters) != len(cfg.Archive.Meters) || len(m.Concentrators) != len(cfg.Archive.Concentrators) {
		t.Fatalf("demo map: layout %s, %d meters, %d concentrators", m.Layout, len(m.Meters), len(m.Concentrators))
	}
	centre := map[string]mapapi.Area{}
	for _, a := range m.Areas {
		centre[a.ID] = a
	}
	for _, mt := range m.Meters {
		own := centre[mt.Area]
		for id, c := range centre {
			if id != mt.Area && dist(mt.Lat, mt.Lon, c.Lat, c.Lon) < dist(mt.Lat, mt.Lon, own.Lat, own.Lon) {
				t.Errorf("demo meter %s of %s at %v,%v is nearer to %s's transformer", mt.Address, mt.Area, mt.Lat, mt.Lon, id)
			}
		}
	}
}
