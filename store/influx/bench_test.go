package influx

import (
	"testing"
	"time"

	"github.com/headend/headend/store"
	"github.com/headend/headend/store/storetest"
)

// BenchmarkWrite writes batches of 20,000 new interval reads into a real
// InfluxDB through the backend's batching (5000 points a request, 4 in
// flight): what the outbox's gathered deliveries look like.
func BenchmarkWrite(b *testing.B) {
	st, _ := newDB(b, store.Retention{})
	defer st.Close()
	storetest.BenchWrite(b, st, 20000)
}

// BenchmarkAreaMonth queries a month of daily freezes of an area of 200
// meters.
func BenchmarkAreaMonth(b *testing.B) {
	storetest.BenchAreaMonth(b, func(t testing.TB, ret store.Retention) (store.Store, time.Time) {
		st, _ := newDB(t, ret)
		return st, time.Now()
	})
}
