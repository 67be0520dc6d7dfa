package analysis

import (
	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
)

// The records this package stores; their kinds, keys and bodies are
// store/results' schema.

func valueRecord(v vee.Value, area string) store.Record {
	v.Version = 0 // the store numbers versions; the validator's restart every run
	return store.Record{Kind: results.KindValue, Key: results.ValueKey(v.Meter, v.Class, v.Quantity, v.Time), Area: area, Meter: v.Meter, Time: v.Time, Body: results.Body(v)}
}

func lossRecord(r *loss.Result) store.Record {
	return store.Record{Kind: results.KindLoss, Key: lossKey(r.Area, r.Period), Area: r.Area, Time: r.Period.Start, Body: results.Body(r)}
}

func lossKey(area string, p loss.Period) string {
	return results.LossKey(area, string(p.Kind), p.Start)
}

func flagRecord(f *anomaly.Flag) store.Record {
	return store.Record{Kind: results.KindFlag, Key: flagKey(f), Area: f.Area, Meter: f.Meter, Time: f.Start, Body: results.Body(f)}
}

func flagKey(f *anomaly.Flag) string {
	return results.FlagKey(string(f.Kind), f.Area, f.Meter, f.Other)
}

func theftRecord(r *anomaly.Ranking) store.Record {
	return store.Record{Kind: results.KindTheft, Key: results.TheftKey(r.Area, r.WindowEnd), Area: r.Area, Time: r.WindowEnd, Body: results.Body(r)}
}
