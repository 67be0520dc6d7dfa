// Package ledger remembers which daily freezes the head-end already holds
// for each meter, so that after an outage (of a channel, a meter or the
// head-end itself) exactly the missing days are read back from the
// meters' freeze history, and nothing is read twice. It is an append-only
// file of "meter day" lines in the data directory; a torn last line from a
// crash is ignored.
package ledger

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Window is how far back a meter keeps daily freezes (DL/T 645-2007: 62).
const Window = 62

// Ledger is the set of (meter, freeze day) the head-end holds.
type Ledger struct {
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	days map[string]map[string]bool // meter -> day "2006-01-02" -> held
}

// Open reads the ledger at path, creating it if need be.
func Open(path string) (*Ledger, error) {
	l := &Ledger{days: map[string]map[string]bool{}}
	if b, err := os.ReadFile(path); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			meter, day, ok := strings.Cut(line, " ")
			if !ok || len(meter) != 12 {
				continue // a torn last line
			}
			if _, err := time.Parse(time.DateOnly, day); err != nil {
				continue
			}
			l.mark(meter, day)
		}
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	l.f, l.w = f, bufio.NewWriter(f)
	return l, nil
}

func (l *Ledger) mark(meter, day string) bool {
	m := l.days[meter]
	if m == nil {
		m = map[string]bool{}
		l.days[meter] = m
	}
	if m[day] {
		return false
	}
	m[day] = true
	return true
}

// Mark records that the freeze of day is held for meter, and writes it
// through to the file.
func (l *Ledger) Mark(meter string, day time.Time) error {
	d := day.Format(time.DateOnly)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.mark(meter, d) {
		return nil
	}
	fmt.Fprintf(l.w, "%s %s\n", meter, d)
	return l.w.Flush()
}

// Has reports whether the freeze of day is held for meter.
func (l *Ledger) Has(meter string, day time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.days[meter][day.Format(time.DateOnly)]
}

// Known reports whether the ledger holds any freeze of meter.
func (l *Ledger) Known(meter string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.days[meter]) > 0
}

// Missing returns the freeze days of meter between its first held day
// and upTo (inclusive) that are not held, oldest first, looking back at
// most Window days from upTo: a meter's gaps, never days before the
// head-end first held it.
func (l *Ledger) Missing(meter string, upTo time.Time) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	held := l.days[meter]
	if len(held) == 0 {
		return nil
	}
	keys := make([]string, 0, len(held))
	for d := range held {
		keys = append(keys, d)
	}
	slices.Sort(keys)
	first, _ := time.ParseInLocation(time.DateOnly, keys[0], upTo.Location())
	upTo = time.Date(upTo.Year(), upTo.Month(), upTo.Day(), 0, 0, 0, 0, upTo.Location())
	from := upTo.AddDate(0, 0, -(Window - 1))
	if first.After(from) {
		from = first
	}
	var out []time.Time
	for d := from; !d.After(upTo); d = d.AddDate(0, 0, 1) {
		if !held[d.Format(time.DateOnly)] {
			out = append(out, d)
		}
	}
	return out
}

// Close flushes and closes the file.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.w.Flush(); err != nil {
		l.f.Close()
		return err
	}
	return l.f.Close()
}

// Marks is the newest load-profile record time held per meter: where the
// next interval read starts, so that an outage is read back from the
// meters' load profile and no record is read twice. It is an append-only
// file of "meter time" lines, like Ledger.
type Marks struct {
	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	latest map[string]time.Time
}

// OpenMarks reads the marks at path, creating the file if need be.
func OpenMarks(path string) (*Marks, error) {
	k := &Marks{latest: map[string]time.Time{}}
	if b, err := os.ReadFile(path); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			meter, at, ok := strings.Cut(line, " ")
			if !ok || len(meter) != 12 {
				continue
			}
			t, err := time.Parse(time.RFC3339, at)
			if err != nil {
				continue // a torn last line
			}
			if t.After(k.latest[meter]) {
				k.latest[meter] = t
			}
		}
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("marks %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("marks %s: %w", path, err)
	}
	k.f, k.w = f, bufio.NewWriter(f)
	return k, nil
}

// Mark records that meter's records up to t are held.
func (k *Marks) Mark(meter string, t time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !t.After(k.latest[meter]) {
		return nil
	}
	k.latest[meter] = t
	fmt.Fprintf(k.w, "%s %s\n", meter, t.Format(time.RFC3339))
	return k.w.Flush()
}

// Latest returns the newest record time held for meter, if any.
func (k *Marks) Latest(meter string) (time.Time, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.latest[meter]
	return t, ok
}

// Close flushes and closes the file.
func (k *Marks) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.w.Flush(); err != nil {
		k.f.Close()
		return err
	}
	return k.f.Close()
}
