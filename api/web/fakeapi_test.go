package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// fakeAPI answers the loss API contract (/work/briefs/api.md, under
// /api/v1) with generated data: areas × days, deterministic. It is for the
// browser tests of this package only; the real API is package api.
type fakeAPI struct {
	token   string
	days    []string // YYYY-MM-DD
	feeders []string
	areas   []*fakeArea
	byID    map[string]*fakeArea
	mux     *http.ServeMux
	tileURL string // meta's tile_url; none when empty

	mu      sync.Mutex
	queries []url.Values // of GET /api/v1/areas, in order
}

type fakeArea struct {
	id, name, feeder string
	expected         int
	days             []fakeDay
	flags            []fakeFlag
}

// fakeDay holds energies in hundredths of a kWh, so that loss = supply -
// sales is exact and the strings have the API's exact digits.
type fakeDay struct {
	computable           bool
	supply, sales        int64
	read, estimated      int
	customerReadsPercent int // of expected customer reads, this day
}

type fakeFlag struct {
	kind, meter, start, end, summary string
	confidence                       float64
}

var fakeClasses = []string{"not_computable", "negative", "low", "qualified", "high"}

var fakeNames = []string{"Xinhua Road residential", "Riverside industrial park", "Old town market", "East gate village",
	"Harbour warehouses", "University south", "Hillside estate", "Station square commercial"}

// newFakeAPI makes n areas over days days from 2025-06-01, on n/40 feeders
// (at least one). Every 50th area has no computable day; every area has
// one to three flags.
func newFakeAPI(token string, n, days int) *fakeAPI {
	f := &fakeAPI{token: token, byID: make(map[string]*fakeArea)}
	first := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for d := range days {
		f.days = append(f.days, first.AddDate(0, 0, d).Format(time.DateOnly))
	}
	nf := max(1, n/40)
	for i := range nf {
		f.feeders = append(f.feeders, fmt.Sprintf("F10-%03d", 201+i))
	}
	seed := uint64(0x9E3779B97F4A7C15)
	rnd := func() uint64 { // xorshift64*: the same data every run
		seed ^= seed >> 12
		seed ^= seed << 25
		seed ^= seed >> 27
		return seed * 2685821657736338717
	}
	for i := range n {
		a := &fakeArea{
			id:       fmt.Sprintf("A%04d", i),
			name:     fmt.Sprintf("%s %d", fakeNames[i%len(fakeNames)], i/len(fakeNames)+1),
			feeder:   f.feeders[i%nf],
			expected: 40 + int(rnd()%200),
		}
		base := int64(50_000 + rnd()%400_000) // hundredths of kWh a day
		rateBP := int64(rnd()%1900) - 300     // the area's loss rate, in basis points: -3 % to 16 %
		for d := range days {
			day := fakeDay{
				computable: i%50 != 0 && rnd()%15 != 0,
				read:       a.expected - int(rnd()%4),
			}
			day.estimated = a.expected - day.read
			day.customerReadsPercent = 100 * day.read / a.expected
			if day.computable {
				day.supply = base + int64(rnd()%uint64(base/5)) - base/10
				bp := rateBP + int64(rnd()%300) - 150 + int64(d%7)*10
				day.sales = day.supply - day.supply*bp/10_000
			}
			a.days = append(a.days, day)
		}
		kinds := []string{"stopped", "reverse", "jump", "cover_open"}
		for k := range 1 + i%3 {
			start := int(rnd() % uint64(days))
			end := ""
			if k%2 == 1 && start+2 < days {
				end = f.days[start+2]
			}
			a.flags = append(a.flags, fakeFlag{
				kind:       kinds[(i+k)%len(kinds)],
				meter:      fmt.Sprintf("%08d%04d", i, k+1),
				start:      f.days[start],
				end:        end,
				confidence: 0.5 + float64(rnd()%50)/100,
				summary:    fmt.Sprintf("registers unchanged %d days while current flows", 2+k),
			})
		}
		f.areas = append(f.areas, a)
		f.byID[a.id] = a
	}
	f.mux = http.NewServeMux()
	f.mux.HandleFunc("GET /api/v1/meta", f.meta)
	f.mux.HandleFunc("GET /api/v1/areas", f.list)
	f.mux.HandleFunc("GET /api/v1/areas/{id}/loss", f.loss)
	f.mux.HandleFunc("GET /api/v1/areas/{id}/flags", f.flagsOf)
	f.mux.HandleFunc("GET /api/v1/areas/{id}/theft", f.theft)
	return f
}

// hundredths formats an amount in hundredths with two decimals.
func hundredths(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// rateOf is loss/supply in % with two decimals, rounded half away from zero.
func rateOf(loss, supply int64) string {
	if supply <= 0 {
		return ""
	}
	bp := (loss*20_000/supply + sgn(loss)) / 2 // hundredths of a percent
	return hundredths(bp)
}

func sgn(v int64) int64 {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

func classOf(d fakeDay) string {
	if !d.computable {
		return "not_computable"
	}
	loss := d.supply - d.sales
	switch {
	case loss < 0:
		return "negative"
	case loss*100 < d.supply: // below 1 %
		return "low"
	case loss*10 <= d.supply: // up to 10 %
		return "qualified"
	}
	return "high"
}

// Queries returns the query strings of GET /api/v1/areas so far.
func (f *fakeAPI) Queries() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries)
}

func (f *fakeAPI) lastQuery() url.Values {
	q := f.Queries()
	if len(q) == 0 {
		return nil
	}
	return q[len(q)-1]
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "authorization: want Bearer token"})
		return
	}
	f.mux.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

func (f *fakeAPI) meta(w http.ResponseWriter, r *http.Request) {
	m := map[string]any{
		"zone": "Asia/Shanghai", "first_day": f.days[0], "last_day": f.days[len(f.days)-1],
		"feeders": f.feeders, "voltage_levels": []string{"10kV/0.4kV"}, "classes": fakeClasses,
	}
	if f.tileURL != "" {
		m["tile_url"], m["tile_attribution"] = f.tileURL, "test tiles"
	}
	writeJSON(w, http.StatusOK, m)
}

// span returns the indexes [i, j] of the days from..to, defaulting to the
// last 7 days, or writes a 400.
func (f *fakeAPI) span(w http.ResponseWriter, q url.Values) (int, int, bool) {
	i, j := max(0, len(f.days)-7), len(f.days)-1
	for _, p := range []struct {
		key string
		at  *int
	}{{"from", &i}, {"to", &j}} {
		v := q.Get(p.key)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			fail(w, http.StatusBadRequest, "%s: not a date (want YYYY-MM-DD): %q", p.key, v)
			return 0, 0, false
		}
		d := int(t.Sub(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
		*p.at = min(max(d, 0), len(f.days)-1)
	}
	if i > j {
		fail(w, http.StatusBadRequest, "from %s is after to %s", q.Get("from"), q.Get("to"))
		return 0, 0, false
	}
	return i, j, true
}

func (f *fakeAPI) area(w http.ResponseWriter, r *http.Request) (*fakeArea, bool) {
	a, ok := f.byID[r.PathValue("id")]
	if !ok {
		fail(w, http.StatusNotFound, "area %q: no such area", r.PathValue("id"))
	}
	return a, ok
}

func (f *fakeAPI) flagsIn(a *fakeArea, i, j int) []fakeFlag {
	var out []fakeFlag
	for _, fl := range a.flags {
		if fl.start <= f.days[j] && (fl.end == "" || fl.end >= f.days[i]) {
			out = append(out, fl)
		}
	}
	return out
}

func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	i, j, ok := f.span(w, q)
	if !ok {
		return
	}
	feeder, class := q.Get("feeder"), q.Get("class")
	if class != "" && !slices.Contains(fakeClasses, class) {
		fail(w, http.StatusBadRequest, "class: %q is not one of %s", class, strings.Join(fakeClasses, ", "))
		return
	}
	out := make([]map[string]any, 0, len(f.areas))
	for _, a := range f.areas {
		last := a.days[j]
		if feeder != "" && a.feeder != feeder || class != "" && classOf(last) != class {
			continue
		}
		var supply, sales int64
		computable, reads := 0, 0
		classes := map[string]int{}
		for _, d := range a.days[i : j+1] {
			classes[classOf(d)]++
			reads += d.customerReadsPercent
			if d.computable {
				computable++
				supply += d.supply
				sales += d.sales
			}
		}
		sup, sal, loss := "", "", ""
		if computable > 0 {
			sup, sal, loss = hundredths(supply), hundredths(sales), hundredths(supply-sales)
		}
		out = append(out, map[string]any{
			"id": a.id, "name": a.name, "feeder": a.feeder, "voltage_level": "10kV/0.4kV",
			"days": j - i + 1, "computable_days": computable,
			"supply": sup, "sales": sal, "loss": loss, "rate": rateOf(supply-sales, supply),
			"class": classOf(last), "classes": classes,
			"meters_expected": a.expected, "meters_read": last.read, "meters_estimated": last.estimated,
			"collection_rate": fmt.Sprintf("%.1f", float64(reads)/float64(j-i+1)),
			"flags":           len(f.flagsIn(a, i, j)),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": f.days[i], "to": f.days[j], "areas": out})
}

func (f *fakeAPI) loss(w http.ResponseWriter, r *http.Request) {
	a, ok := f.area(w, r)
	if !ok {
		return
	}
	i, j, ok := f.span(w, r.URL.Query())
	if !ok {
		return
	}
	days := []map[string]any{}
	for k := i; k <= j; k++ {
		d := a.days[k]
		sup, sal, loss, rate, reasons := "", "", "", "", []string{}
		if d.computable {
			sup, sal, loss, rate = hundredths(d.supply), hundredths(d.sales), hundredths(d.supply-d.sales), rateOf(d.supply-d.sales, d.supply)
		} else {
			reasons = append(reasons, "area meter daily freeze missing")
		}
		days = append(days, map[string]any{
			"date": f.days[k], "supply": sup, "sales": sal, "loss": loss, "rate": rate, "class": classOf(d),
			"reasons": reasons, "meters_expected": a.expected, "meters_read": d.read, "meters_estimated": d.estimated,
			"version": 1, "provisional": k == len(f.days)-1,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"area": a.id, "days": days})
}

func (f *fakeAPI) flagsOf(w http.ResponseWriter, r *http.Request) {
	a, ok := f.area(w, r)
	if !ok {
		return
	}
	i, j, ok := f.span(w, r.URL.Query())
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, fl := range f.flagsIn(a, i, j) {
		ev := []map[string]string{}
		start, _ := time.Parse(time.DateOnly, fl.start)
		for k := range 3 {
			ev = append(ev, map[string]string{
				"what": "forward active energy total", "meter": fl.meter,
				"time": start.AddDate(0, 0, k).Format("2006-01-02T15:04:05") + "+08:00", "value": "12345.67",
			})
		}
		out = append(out, map[string]any{
			"id": fl.kind + "/" + fl.meter + "/" + fl.start, "kind": fl.kind, "meter": fl.meter, "area": a.id,
			"start": fl.start, "end": fl.end, "confidence": fl.confidence, "summary": fl.summary, "evidence": ev,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"flags": out})
}

func (f *fakeAPI) theft(w http.ResponseWriter, r *http.Request) {
	a, ok := f.area(w, r)
	if !ok {
		return
	}
	date := r.URL.Query().Get("date")
	if date == "" {
		date = f.days[len(f.days)-1]
	}
	if !slices.Contains(f.days, date) || a.id[1:] == "0050" {
		// as the real API: not ranked yet is a normal answer
		writeJSON(w, http.StatusOK, map[string]any{"area": a.id, "date": "", "candidates": []any{},
			"reason": "no theft ranking on or before " + date + ": the analysis had not ranked the area by then"})
		return
	}
	cands := []map[string]any{}
	for k := range 5 {
		cands = append(cands, map[string]any{
			"meter": fmt.Sprintf("%s%04d", strings.TrimPrefix(a.id, "A")+"0000", k+10), "score": 0.9 - 0.15*float64(k),
			"drop": hundredths(int64(980 - 150*k)), "summary": fmt.Sprintf("consumption fell %d%% as the area's loss rose", 40-5*k),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"area": a.id, "date": date, "excess": "12.50", "candidates": cands})
}
