package testenv

import (
	"fmt"
	"path/filepath"
)

// InfluxdConf is the configuration of a throw-away influxd 1.8 for tests:
// its files under dir, HTTP (the 2.x write and Flux API) on httpPort and
// its RPC on rpcPort, both on loopback, quiet.
func InfluxdConf(dir string, httpPort, rpcPort int) string {
	return fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = %q
  logging-enabled = false
[data]
  dir = %q
  wal-dir = %q
  index-version = "inmem"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:%d"
  flux-enabled = true
  log-enabled = false
[logging]
  level = "error"
  suppress-logo = true
[continuous_queries]
  enabled = false
`, rpcPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpPort)
}
