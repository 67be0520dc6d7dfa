package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/headend/headend/collector/config"
	"github.com/headend/headend/store"
)

// openInflux opens the InfluxDB backend.
func openInflux(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	return nil, errors.New("store.kind influxdb: the InfluxDB backend is not built in yet")
}
