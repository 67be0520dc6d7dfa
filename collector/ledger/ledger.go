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
