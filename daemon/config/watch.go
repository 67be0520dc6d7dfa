package config

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/spf13/pflag"
)

// Watch reloads the configuration at path on SIGHUP and when the file or
// one of the files it names changes (archive.meters_csv,
// archive.responsible_csv, analysis.targets), until ctx is done. onChange gets each
// reload that loads and validates (on SIGHUP even if nothing changed, on
// a file change only if something did); a reload that fails is logged
// with its errors and the previous configuration stays in force. The
// caller loads the first configuration itself.
func Watch(ctx context.Context, path string, flags *pflag.FlagSet, onChange func(*Config)) error {
	return (&Watcher{Path: path, Flags: flags, OnChange: onChange}).Run(ctx)
}

// Watcher is Watch with its parts exposed, for tests and for callers
// that want the errors.
type Watcher struct {
	Path     string
	Flags    *pflag.FlagSet
	OnChange func(*Config)
	// OnError gets each failed reload, after it is logged; optional.
	OnError func(error)
	// Signals trigger a reload; nil means SIGHUP via signal.Notify.
	Signals <-chan os.Signal
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Settle is how long the files must be quiet after a change before
	// the reload (editors write in steps); 0 means 200ms.
	Settle time.Duration
}

// Run watches until ctx is done; it returns nil then, or an error if the
// file system cannot be watched.
func (w *Watcher) Run(ctx context.Context) error {
	log := w.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("config", w.Path)
	settle := w.Settle
	if settle <= 0 {
		settle = 200 * time.Millisecond
	}
	sigs := w.Signals
	if sigs == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGHUP)
		defer signal.Stop(ch)
		sigs = ch
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer fw.Close()

	cfgPath, err := filepath.Abs(w.Path)
	if err != nil {
		return err
	}
	watched := map[string]bool{}
	var patterns []string // absolute CSV globs of the last good config
	var unread []string   // files Load does not read (analysis.targets): a change reloads whatever Load finds
	watchDirs := func() {
		dirs := []string{filepath.Dir(cfgPath)}
		for _, p := range patterns {
			dirs = append(dirs, filepath.Dir(p))
		}
		for _, d := range dirs {
			if !watched[d] {
				if err := fw.Add(d); err != nil {
					log.Warn("cannot watch directory", "dir", d, "err", err)
					continue
				}
				watched[d] = true
			}
		}
	}
	var last *Config
	adopt := func(c *Config) {
		last = c
		patterns = patterns[:0]
		unread = unread[:0]
		for _, p := range append(append([]string{}, c.Sources.MetersCSV...), c.Sources.ResponsibleCSV, c.Sources.ExchangesCSV, c.Analysis.Targets) {
			if a, err := filepath.Abs(p); err == nil && p != "" {
				patterns = append(patterns, a)
			}
		}
		if a, err := filepath.Abs(c.Analysis.Targets); err == nil && c.Analysis.Targets != "" {
			unread = append(unread, a)
		}
		watchDirs()
	}
	if c, err := Load(w.Path, w.Flags); err == nil {
		adopt(c)
	} else {
		watchDirs()
	}
	relevant := func(name string) bool {
		a, err := filepath.Abs(name)
		if err != nil {
			return false
		}
		if a == cfgPath {
			return true
		}
		for _, p := range patterns {
			if ok, _ := filepath.Match(p, a); ok {
				return true
			}
		}
		return false
	}
	isUnread := func(name string) bool {
		a, err := filepath.Abs(name)
		return err == nil && contains(unread, a)
	}
	forced := false // a file Load does not read changed since the last reload
	reload := func(why string, force bool) {
		c, err := Load(w.Path, w.Flags)
		if err != nil {
			log.Error("configuration reload failed; keeping the previous one", "trigger", why, "err", err)
			if w.OnError != nil {
				w.OnError(err)
			}
			return
		}
		if !force && last != nil && reflect.DeepEqual(c, last) {
			log.Debug("configuration unchanged", "trigger", why)
			return
		}
		adopt(c)
		log.Info("configuration loaded", "trigger", why, "meters", len(c.Archive.Meters))
		if w.OnChange != nil {
			w.OnChange(c)
		}
	}

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-sigs:
			timer.Stop()
			forced = false
			reload(s.String(), true)
		case ev, ok := <-fw.Events:
			if !ok {
				return errors.New("config: file watcher closed")
			}
			if ev.Op != fsnotify.Chmod && relevant(ev.Name) {
				forced = forced || isUnread(ev.Name)
				timer.Reset(settle)
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return errors.New("config: file watcher closed")
			}
			log.Warn("file watcher", "err", err)
		case <-timer.C:
			reload("file change", forced)
			forced = false
		}
	}
}
