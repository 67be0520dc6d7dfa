package config

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// guard bounds every wait: a failure guard, not a way to let things happen.
const guard = 20 * time.Second

// replace writes a file atomically, as careful editors and deploy tools do.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

type watchRig struct {
	t       *testing.T
	path    string
	sig     chan os.Signal
	changes chan *Config
	errs    chan error
	done    chan error
}

func startWatch(t *testing.T, files map[string]string) *watchRig {
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := &watchRig{t: t, path: filepath.Join(dir, "h.yaml"), sig: make(chan os.Signal),
		changes: make(chan *Config, 10), errs: make(chan error, 10), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{Path: r.path, Signals: r.sig, Settle: 20 * time.Millisecond,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnChange: func(c *Config) { r.changes <- c },
		OnError:  func(err error) { r.errs <- err }}
	go func() { r.done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(guard):
			t.Error("Run did not stop")
		}
	})
	// a SIGHUP reloads even an unchanged file; its callback also shows
	// that the watcher is running
	r.hup()
	r.change()
	return r
}

func (r *watchRig) hup() {
	select {
	case r.sig <- syscall.SIGHUP:
	case <-time.After(guard):
		r.t.Fatal("watcher does not take signals")
	}
}

func (r *watchRig) change() *Config {
	r.t.Helper()
	select {
	case c := <-r.changes:
		return c
	case err := <-r.errs:
		r.t.Fatalf("reload failed: %v", err)
	case <-time.After(guard):
		r.t.Fatal("no reload")
	}
	return nil
}

func (r *watchRig) failure() error {
	r.t.Helper()
	select {
	case c := <-r.changes:
		r.t.Fatalf("callback with %+v, want a failed reload", c.Log)
	case err := <-r.errs:
		return err
	case <-time.After(guard):
		r.t.Fatal("no failed reload reported")
	}
	return nil
}

func (r *watchRig) noChange() {
	r.t.Helper()
	select {
	case c := <-r.changes:
		r.t.Fatalf("unexpected callback: %+v", c.Log)
	default:
	}
}

func TestWatchFile(t *testing.T) {
	r := startWatch(t, map[string]string{"h.yaml": "log: {level: info}\n" + base})

	// a bad file: reported, no callback
	replace(t, r.path, "log: {level: loud}\n"+base)
	if err := r.failure(); !strings.Contains(err.Error(), `h.yaml:1: log.level: "loud"`) {
		t.Errorf("error %v", err)
	}
	r.noChange()

	// SIGHUP while the file is bad: still no callback
	r.hup()
	r.failure()
	r.noChange()

	// a good file: a callback with the new configuration
	replace(t, r.path, "log: {level: debug}\n"+base)
	if c := r.change(); c.Log.Level != "debug" {
		t.Errorf("level %s", c.Log.Level)
	}

	// a SIGHUP reloads, unchanged or not
	r.hup()
	if c := r.change(); c.Log.Level != "debug" {
		t.Errorf("level %s", c.Log.Level)
	}
}

func TestWatchCSV(t *testing.T) {
	csv := "address,channel,area\n000001000009,bus1,A1\n"
	r := startWatch(t, map[string]string{"h.yaml": base + "  meters_csv: [m.csv]\n", "m.csv": csv})
	dir := filepath.Dir(r.path)

	// an invalid CSV: no callback
	replace(t, filepath.Join(dir, "m.csv"), "address,channel,area\n000001000009,bus7,A1\n")
	if err := r.failure(); !strings.Contains(err.Error(), `m.csv:2 (000001000009): channel: channel "bus7" does not exist`) {
		t.Errorf("error %v", err)
	}
	// a meter added to the CSV: a callback with it
	replace(t, filepath.Join(dir, "m.csv"), csv+"000001000010,bus1,A1\n")
	if c := r.change(); len(c.Archive.Meters) != 4 {
		t.Errorf("%d meters, want 4", len(c.Archive.Meters))
	}
}

// archive.responsible_csv and analysis.targets are watched as the meters
// CSV is: a change of the first reloads when what Load reads changed; a
// change of the targets, which Load does not read, always reloads.
func TestWatchResponsibleAndTargets(t *testing.T) {
	r := startWatch(t, map[string]string{
		"h.yaml":  base + "  responsible_csv: r.csv\n  exchanges_csv: x.csv\nanalysis:\n  targets: t.csv\n",
		"r.csv":   "area,responsible\nA1,Li Wei\n",
		"x.csv":   "area,old_meter,new_meter,date,removal_reading,install_reading\n",
		"t.csv":   "area_or_group,from,to,target_rate\nA1,2025-01-01,2025-12-31,6.0\n",
		"unused":  "",
		"unused2": "",
	})
	dir := filepath.Dir(r.path)
	replace(t, filepath.Join(dir, "r.csv"), "area,responsible\nA1,Wang Fang\n")
	if c := r.change(); c.Archive.Areas[0].Responsible != "Wang Fang" {
		t.Errorf("responsible %q after the CSV changed", c.Archive.Areas[0].Responsible)
	}
	replace(t, filepath.Join(dir, "x.csv"), "area,old_meter,new_meter,date,removal_reading,install_reading\nA1,1000009,000001000001,2025-07-01 09:00+08:00,1234.5,0.01\n")
	if c := r.change(); len(c.Archive.Exchanges) != 1 {
		t.Errorf("exchanges %v after the CSV changed", c.Archive.Exchanges)
	}
	replace(t, filepath.Join(dir, "t.csv"), "area_or_group,from,to,target_rate\nA1,2025-01-01,2025-12-31,5.0\n")
	if c := r.change(); c.Analysis.Targets != filepath.Join(dir, "t.csv") {
		t.Errorf("targets %q", c.Analysis.Targets)
	}
	// a file the configuration does not name: no reload
	replace(t, filepath.Join(dir, "unused"), "x")
	r.noChange()
}
