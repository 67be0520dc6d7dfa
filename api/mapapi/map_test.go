package mapapi_test

import (
	"github.com/headend/headend/api/apitest"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/headend/headend/analysis/analysistest"
	"github.com/headend/headend/api/mapapi"
	"github.com/headend/headend/archive"
)

func serve(t *testing.T, svc *mapapi.Service) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	svc.Register(mux, func(h http.Handler) http.Handler { return h })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// get is apitest.Get.
var get = apitest.Get

// The map of the tiny fleet as the analysis stored it, over real HTTP:
// the archive has no coordinates, so the layout is synthetic; the
// statuses agree with the balances and the flags.
func TestMapOnAnalysis(t *testing.T) {
	a := analysistest.Analyse(t, "../../testdata/scenarios/tiny.yaml", 6)
	svc := &mapapi.Service{Results: a.Results, Archive: func() *archive.Index { return a.Archive }, Location: a.Fleet.Zone(),
		Now: func() time.Time { return a.Now }}
	srv := serve(t, svc)

	var m mapapi.Map
	body := get(t, srv.URL+"/api/v1/map", 200, &m)
	yesterday := a.Now.In(a.Fleet.Zone()).AddDate(0, 0, -1).Format(time.DateOnly)
	if m.Date != yesterday || m.Layout != mapapi.Synthetic {
		t.Fatalf("date %s layout %s, want %s and synthetic", m.Date, m.Layout, yesterday)
	}
	if want := len(a.Archive.Archive().Meters); len(m.Meters) != want || len(m.Areas) != 2 {
		t.Fatalf("%d meters in %d areas, want %d in 2", len(m.Meters), len(m.Areas), want)
	}
	centre := map[string]mapapi.Area{}
	for _, ar := range m.Areas {
		centre[ar.ID] = ar
		if ar.Read+ar.Estimated+ar.Failed+ar.Flagged+ar.Unknown != ar.Meters || ar.Meters != len(a.Archive.MetersInArea(ar.ID)) {
			t.Errorf("area %s: counts %+v do not add up to its %d meters", ar.ID, ar, len(a.Archive.MetersInArea(ar.ID)))
		}
		if ar.Unknown != 0 || (ar.Rate == "") != (ar.Class == "not_computable") {
			t.Errorf("area %s on %s: %+v, want a balance, with a rate when computable", ar.ID, m.Date, ar)
		}
	}
	// The planted stopped meter is flagged; every meter sits nearer its
	// own area's centre than the other's.
	flagged := false
	for _, mt := range m.Meters {
		if mt.Placed != "synthetic" {
			t.Errorf("meter %s placed %q, want synthetic", mt.Address, mt.Placed)
		}
		if mt.Address == "000002000001" {
			flagged = mt.Status == mapapi.Flagged && len(mt.Flags) > 0
		}
		if (mt.Status == mapapi.Flagged) != (len(mt.Flags) > 0) {
			t.Errorf("meter %s: status %s with flags %v", mt.Address, mt.Status, mt.Flags)
		}
		for id, c := range centre {
			own := centre[mt.Area]
			if id != mt.Area && dist(mt.Lat, mt.Lon, c.Lat, c.Lon) <= dist(mt.Lat, mt.Lon, own.Lat, own.Lon) {
				t.Errorf("meter %s of %s is as near to %s's centre", mt.Address, mt.Area, id)
			}
		}
	}
	if !flagged {
		t.Errorf("the stopped meter 000002000001 is not flagged on %s: %s", m.Date, body)
	}
	// The same archive, the same map.
	if again := get(t, srv.URL+"/api/v1/map", 200, nil); again != body {
		t.Errorf("a second map differs from the first")
	}

	// One area; a day without balances.
	var one mapapi.Map
	get(t, srv.URL+"/api/v1/map?area=A2&date="+m.Date, 200, &one)
	if len(one.Areas) != 1 || one.Areas[0].ID != "A2" || len(one.Meters) != len(a.Archive.MetersInArea("A2")) {
		t.Errorf("area A2: %d areas, %d meters", len(one.Areas), len(one.Meters))
	}
	for _, mt := range one.Meters {
		var full mapapi.Meter
		for _, x := range m.Meters {
			if x.Address == mt.Address {
				full = x
			}
		}
		if !reflect.DeepEqual(mt, full) {
			t.Errorf("meter %s on the area's map %+v, on the whole map %+v", mt.Address, mt, full)
		}
	}
	var before mapapi.Map
	get(t, srv.URL+"/api/v1/map?date=2020-01-01", 200, &before)
	for _, ar := range before.Areas {
		if ar.Unknown != ar.Meters || ar.Class != "not_computable" {
			t.Errorf("area %s before the fleet began: %+v, want every meter unknown", ar.ID, ar)
		}
	}

	get(t, srv.URL+"/api/v1/map?date=yesterday", 400, nil)
	get(t, srv.URL+"/api/v1/map?area=ZZ", 404, nil)
}

func dist(lat1, lon1, lat2, lon2 float64) float64 {
	dx := (lon1 - lon2) * math.Cos(lat1*math.Pi/180)
	return math.Hypot(lat1-lat2, dx)
}

// The map opens on the last complete day: before the night's freezes are
// in, the day before yesterday, not a day most meters have not reported
// (16.11).
func TestMapOpensOnLastCompleteDay(t *testing.T) {
	a := analysistest.Analyse(t, "../../testdata/scenarios/tiny.yaml", 2)
	zone := a.Fleet.Zone()
	var now time.Time
	svc := &mapapi.Service{Results: a.Results, Archive: func() *archive.Index { return a.Archive }, Location: zone,
		Now: func() time.Time { return now }}
	srv := serve(t, svc)
	for _, c := range []struct{ now, want string }{
		{"2025-06-21 00:30", "2025-06-19"}, {"2025-06-21 01:29", "2025-06-19"}, {"2025-06-21 01:30", "2025-06-20"}, {"2025-06-21 23:00", "2025-06-20"},
	} {
		now, _ = time.ParseInLocation("2006-01-02 15:04", c.now, zone)
		var m mapapi.Map
		get(t, srv.URL+"/api/v1/map", 200, &m)
		if m.Date != c.want {
			t.Errorf("at %s the map opens on %s, want %s", c.now, m.Date, c.want)
		}
	}
}
