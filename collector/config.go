package collector

import (
	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/settings"
)

// Config is what a collector is built from: the collector section of the
// configuration (daemon/config loads and checks it) and the archive it
// polls. Apply swaps it on a reload.
type Config struct {
	Collector settings.Collector
	Archive   *archive.Archive
}
