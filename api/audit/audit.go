// Package audit is the head-end's audit log: who did what, when, to
// what, why, with what result, for every write and control action (edits
// of reads, relay commands, configuration changes, approvals, and every
// non-GET API request through [Writes]).
//
// The log is a file of JSON lines, one [Entry] a line, appended and
// fsynced entry by entry (the file is never rewritten). Open reads it
// back and continues the sequence numbers. A line that does not parse (a
// torn write at the end after a crash, or damage in the middle) is
// reported by Damaged and in the log, and skipped; the entries around it
// are kept. No entry holds a token: Who is the token's name.
//
// A Log may keep its entries in a Store instead (OpenStore): a database
// that several head-end nodes share, such as api/audit/pgaudit's
// PostgreSQL table.
package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/headend/headend/api/auth"
)

// Entry is one audited action.
type Entry struct {
	Seq     int64       `json:"seq"`  // 1, 2, ... in the order recorded
	Time    time.Time   `json:"time"` // set by Record from the log's clock
	Who     string      `json:"who"`  // the token's name; "anonymous" for a request without a known token
	Roles   []auth.Role `json:"roles,omitempty"`
	Action  string      `json:"action"`           // dotted: relay.trip, read.edit, http.post
	Target  string      `json:"target,omitempty"` // what it acted on: a meter, a read, a path
	Reason  string      `json:"reason,omitempty"` // why, as the person gave it
	Before  any         `json:"before,omitempty"`
	After   any         `json:"after,omitempty"`
	Request any         `json:"request,omitempty"` // an API request's JSON body (Writes), when it has no secret field
	Remote  string      `json:"remote,omitempty"`  // the client's address
	Outcome string      `json:"outcome,omitempty"` // ok, failed: ..., or an HTTP status ("403 Forbidden")
}

// Damage is a line of the file that is not an entry.
type Damage struct {
	Line   int    `json:"line"`   // 1-based
	Offset int64  `json:"offset"` // byte offset of the line
	Torn   bool   `json:"torn"`   // the last line, cut short (a write interrupted by a crash)
	Err    string `json:"error"`
}

func (d Damage) String() string {
	kind := "damaged line"
	if d.Torn {
		kind = "torn last line"
	}
	return fmt.Sprintf("line %d (byte %d): %s: %s", d.Line, d.Offset, kind, d.Err)
}

// Options adjust a Log.
type Options struct {
	Now    func() time.Time // clock of the entries; nil: time.Now
	Logger *slog.Logger     // damage found at Open, failed writes; nil: discard
}

// Log is an open audit log. It is safe for concurrent use.
type Log struct {
	path string
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	f       *os.File
	st      Store // instead of the file, when set
	closed  bool  // st is closed
	seq     int64
	size    int64 // bytes of whole lines written: what List reads
	broken  error // the last write failed; the next one starts a new line
	damaged []Damage
}

// Open opens (or creates) the log at path, reads it to continue the
// sequence, and reports damaged lines through Damaged and the logger.
func Open(path string, opts Options) (*Log, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	l := &Log{path: path, opts: opts, log: opts.Logger, f: f}
	err = scan(f, func(e *Entry, d *Damage, line int, off int64) {
		if d != nil {
			l.damaged = append(l.damaged, *d)
			return
		}
		if e.Seq <= l.seq {
			l.damaged = append(l.damaged, Damage{Line: line, Offset: off, Err: fmt.Sprintf("seq %d after %d (the entry is kept)", e.Seq, l.seq)})
		}
		l.seq = max(l.seq, e.Seq)
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	l.size = size
	if end, err := lastByte(f, size); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	} else if size > 0 && end != '\n' {
		// end the last line, so that the next entry starts a line of its
		// own; torn bytes stay, as evidence
		if _, err := f.Write([]byte("\n")); err != nil {
			f.Close()
			return nil, fmt.Errorf("audit log %s: end the torn last line: %w", path, err)
		}
		l.size++
	}
	for _, d := range l.damaged {
		l.log.Warn("audit log: a line is not an entry: skipped", "file", path, "damage", d.String())
	}
	return l, nil
}

// Store keeps the entries of a Log that has no file (OpenStore). Its
// methods may be called concurrently, from several Logs on one store.
type Store interface {
	// Append stores e as the next entry: it sets Seq, one above the last
	// of the store, and Time, from now, and returns the entry as stored.
	// Entries are stored, and their Seqs taken, one at a time.
	Append(ctx context.Context, e Entry, now func() time.Time) (Entry, error)
	// List returns the entries f selects, in Seq order.
	List(ctx context.Context, f Filter) ([]Entry, error)
	// Last returns the Seq of the last entry (0: none).
	Last(ctx context.Context) (int64, error)
	Close() error
	String() string // where the entries are, for errors and logs
}

// OpenStore returns a log whose entries are in st. Close closes st.
func OpenStore(ctx context.Context, st Store, opts Options) (*Log, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	seq, err := st.Last(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", st, err)
	}
	return &Log{path: st.String(), opts: opts, log: opts.Logger, st: st, seq: seq}, nil
}

// Path is the log's file (or its Store's String).
func (l *Log) Path() string { return l.path }

// Damaged returns the lines found damaged when the log was opened.
func (l *Log) Damaged() []Damage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Damage(nil), l.damaged...)
}

// Seq is the sequence number of the last entry.
func (l *Log) Seq() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq
}

// Err is the error of the last write, nil once a write succeeded again.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.broken
}

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("audit: log closed")

// Record appends e and fsyncs it. It sets Seq, Time (the log's clock),
// Who and Roles (from the principal in ctx, unless e.Who is set; no
// principal is "anonymous") and Remote (from ctx, see Writes, unless
// set), and returns the entry as written. An action that must not happen
// unaudited records first and acts only if Record succeeded.
func (l *Log) Record(ctx context.Context, e Entry) (Entry, error) {
	if l == nil {
		return e, errors.New("audit: no log")
	}
	if e.Who == "" {
		if p, ok := auth.From(ctx); ok {
			e.Who, e.Roles = p.Name, p.Roles
		} else {
			e.Who = "anonymous"
		}
	}
	if e.Remote == "" {
		e.Remote, _ = ctx.Value(remoteKey{}).(string)
	}
	if e.Action == "" {
		return e, errors.New("audit: an entry needs an action")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.st != nil {
		return l.append(ctx, e)
	}
	if l.f == nil {
		return e, ErrClosed
	}
	e.Seq, e.Time = l.seq+1, l.opts.Now()
	line, err := json.Marshal(e)
	if err != nil {
		return e, fmt.Errorf("audit: entry %s %s: %w", e.Action, e.Target, err)
	}
	if l.broken != nil {
		line = append([]byte("\n"), line...)
	}
	line = append(line, '\n')
	n, err := l.f.Write(line)
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		l.broken = fmt.Errorf("audit log %s: %w", l.path, err)
		l.log.Error("audit log: an entry could not be written", "file", l.path, "action", e.Action, "target", e.Target, "who", e.Who, "err", err)
		if n > 0 {
			l.size += int64(n) // a torn line List will skip
		}
		return e, l.broken
	}
	l.broken = nil
	l.seq = e.Seq
	l.size += int64(n)
	return e, nil
}

// append is Record into l.st (l.mu held).
func (l *Log) append(ctx context.Context, e Entry) (Entry, error) {
	if l.closed {
		return e, ErrClosed
	}
	stored, err := l.st.Append(ctx, e, l.opts.Now)
	if err != nil {
		l.broken = fmt.Errorf("audit log %s: %w", l.path, err)
		l.log.Error("audit log: an entry could not be written", "store", l.path, "action", e.Action, "target", e.Target, "who", e.Who, "err", err)
		return e, l.broken
	}
	l.broken = nil
	l.seq = stored.Seq
	return stored, nil
}

// Close closes the file (or the Store).
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.st != nil {
		if l.closed {
			return nil
		}
		l.closed = true
		return l.st.Close()
	}
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Filter selects entries; zero fields select everything.
type Filter struct {
	From, To time.Time // From <= Time < To
	// Action is an action or a prefix of dotted actions: "relay" is
	// relay, relay.trip, relay.close...
	Action string
	Who    string
	// Limit keeps the latest Limit entries of those selected (0: all).
	Limit int
}

// Match reports whether f selects e (Limit aside).
func (f *Filter) Match(e *Entry) bool {
	if !f.From.IsZero() && e.Time.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !e.Time.Before(f.To) {
		return false
	}
	if f.Action != "" && e.Action != f.Action && !strings.HasPrefix(e.Action, f.Action+".") {
		return false
	}
	return f.Who == "" || e.Who == f.Who
}

// List returns the entries f selects, in order.
func (l *Log) List(f Filter) ([]Entry, error) {
	if l.st != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := l.st.List(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("audit log %s: %w", l.path, err)
		}
		return out, nil
	}
	l.mu.Lock()
	size := l.size
	l.mu.Unlock()
	fh, err := os.Open(l.path)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer fh.Close()
	var out []Entry
	err = scan(io.LimitReader(fh, size), func(e *Entry, d *Damage, _ int, _ int64) {
		if d != nil || !f.Match(e) {
			return
		}
		out = append(out, *e)
		if f.Limit > 0 && len(out) > 2*f.Limit {
			out = append(out[:0], out[len(out)-f.Limit:]...)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", l.path, err)
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out, nil
}

// scan calls fn for each line of r: an entry, or the damage.
func scan(r io.Reader, fn func(e *Entry, d *Damage, line int, off int64)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var off int64
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			torn := err == io.EOF // no newline: the write was cut short
			body := bytes.TrimRight(line, "\r\n")
			if len(bytes.TrimSpace(body)) > 0 {
				// a whole entry that lost only its newline is an entry
				if e, perr := ParseLine(body); perr == nil {
					fn(&e, nil, lineNo, off)
				} else {
					fn(nil, &Damage{Line: lineNo, Offset: off, Torn: torn, Err: perr.Error()}, lineNo, off)
				}
			}
			off += int64(len(line))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// ParseLine reads one line of the log (without its newline).
func ParseLine(b []byte) (Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&e); err != nil {
		return Entry{}, fmt.Errorf("not an entry: %w", err)
	}
	if dec.More() {
		return Entry{}, errors.New("not an entry: data after the JSON object")
	}
	switch {
	case e.Seq <= 0:
		return Entry{}, fmt.Errorf("not an entry: seq %d", e.Seq)
	case e.Time.IsZero():
		return Entry{}, errors.New("not an entry: no time")
	case e.Action == "":
		return Entry{}, errors.New("not an entry: no action")
	}
	return e, nil
}

func lastByte(f *os.File, size int64) (byte, error) {
	if size == 0 {
		return 0, nil
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, size-1); err != nil {
		return 0, err
	}
	return b[0], nil
}

type remoteKey struct{}

// WithRemote returns ctx carrying the client's address for Record.
func WithRemote(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, remoteKey{}, addr)
}
