package influx

import (
	"testing"
	"time"

	"github.com/headend/headend/store"
	"github.com/headend/headend/store/storetest"
)

// The shared contract, against a real InfluxDB: a fresh database with the
// retention asked for per store, and the server's clock.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t testing.TB, ret store.Retention) (store.Store, time.Time) {
		st, _ := newDB(t, ret)
		return st, time.Now()
	})
}
