package analysis

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// Record kinds this package stores.
const (
	KindValue = "value" // a validated register value (daily, monthly): Body is a vee.Value
	KindLoss  = "loss"  // an area's balance over a day or a month: Body is a loss.Result
	KindFlag  = "flag"  // an anomaly: Body is an anomaly.Flag
	KindTheft = "theft" // an area's theft ranking on a day: Body is an anomaly.Ranking
)

// ValueKey is the record key of a validated value.
func ValueKey(meterID string, class meter.Class, quantity string, t time.Time) string {
	return strings.Join([]string{meterID, string(class), quantity, t.UTC().Format(time.RFC3339)}, "|")
}

// LossKey is the record key of an area's balance over p, with its date
// in p's location: "D01|daily|2025-06-02", "D01|monthly|2025-06-01".
func LossKey(area string, p loss.Period) string {
	return area + "|" + string(p.Kind) + "|" + p.Start.Format(time.DateOnly)
}

// FlagKey is the record key of a flag: its kind and what it is on. A
// flag's versions follow one condition as the days come (its end, its
// confidence, its evidence); a later episode of the same condition is a
// later version of the same record.
func FlagKey(f *anomaly.Flag) string {
	return strings.Join([]string{string(f.Kind), f.Area, f.Meter, f.Other}, "|")
}

// TheftKey is the record key of an area's ranking over the window ending
// on day.
func TheftKey(area string, day time.Time) string { return area + "|" + day.Format(time.DateOnly) }

func body(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("analysis: " + err.Error()) // only our own types are marshalled
	}
	return b
}

func valueRecord(v vee.Value, area string) store.Record {
	v.Version = 0 // the store numbers versions; the validator's restart every run
	return store.Record{Kind: KindValue, Key: ValueKey(v.Meter, v.Class, v.Quantity, v.Time), Area: area, Meter: v.Meter, Time: v.Time, Body: body(v)}
}

func lossRecord(r *loss.Result) store.Record {
	return store.Record{Kind: KindLoss, Key: LossKey(r.Area, r.Period), Area: r.Area, Time: r.Period.Start, Body: body(r)}
}

func flagRecord(f *anomaly.Flag) store.Record {
	return store.Record{Kind: KindFlag, Key: FlagKey(f), Area: f.Area, Meter: f.Meter, Time: f.Start, Body: body(f)}
}

func theftRecord(r *anomaly.Ranking) store.Record {
	return store.Record{Kind: KindTheft, Key: TheftKey(r.Area, r.WindowEnd), Area: r.Area, Time: r.WindowEnd, Body: body(r)}
}
