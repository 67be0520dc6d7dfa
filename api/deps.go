package api

import (
	"log/slog"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/store"
)

// Deps is what the API packages share, filled once by the daemon and
// handed to each package's New: the stores, the archive in force, the
// zone and the clock, and the log.
type Deps struct {
	Results  store.Results
	Reads    store.Store           // raw reads; nil: what needs them finds nothing
	Archive  func() *archive.Index // the archive in force (it changes on reload)
	Location *time.Location        // the zone days and months are counted in
	Now      func() time.Time      // nil: time.Now
	Logger   *slog.Logger          // nil: slog.Default()
}
