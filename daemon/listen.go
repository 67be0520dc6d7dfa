package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"syscall"

	archivepkg "github.com/headend/headend/archive"
	"github.com/headend/headend/daemon/config"
)

// bindListeners binds http.listen, and tries collector.dialin_listen
// when a channel dials in (the collector binds it itself), so that an
// address in use is an error before the store is opened. The HTTP
// listener is nil without http.listen.
func bindListeners(cfg *config.Config) (net.Listener, error) {
	if a := cfg.Collector.DialInListen; a != "" && slices.ContainsFunc(cfg.Archive.Channels, func(ch archivepkg.Channel) bool { return ch.Kind == archivepkg.KindDialIn }) {
		where := ""
		if _, ok := os.LookupEnv(config.EnvName("collector.dialin_listen")); ok {
			where = " (" + config.EnvName("collector.dialin_listen") + ")"
		}
		l, err := net.Listen("tcp", a)
		if err != nil {
			return nil, fmt.Errorf("collector.dialin_listen%s %s: %w", where, a, err)
		}
		l.Close()
	}
	if cfg.HTTP.Listen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		where := ""
		if _, ok := os.LookupEnv(config.EnvName("http.listen")); ok {
			where = " (" + config.EnvName("http.listen") + ")"
		}
		return nil, fmt.Errorf("http.listen%s %s: %w", where, cfg.HTTP.Listen, err)
	}
	return ln, nil
}

// stopOnSignal cancels ctx with the signal as its cause on SIGINT or
// SIGTERM, from when it returns until ctx ends.
func stopOnSignal(ctx context.Context, cancel context.CancelCauseFunc) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sigs)
		select {
		case s := <-sigs:
			cancel(fmt.Errorf("%s", s))
		case <-ctx.Done():
		}
	}()
}

// newLogger logs at level (log.level, which a reload changes) in
// log.format.
func newLogger(w io.Writer, c config.Log, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logLevel is log.level as a slog.Level (info if it does not parse; Load
// has checked it).
func logLevel(s string) slog.Level {
	var l slog.Level
	l.UnmarshalText([]byte(s))
	return l
}
