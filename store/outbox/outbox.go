// Package outbox keeps the rule "a read is never lost when the database is
// away": every batch of reads the collector accepts is first appended to a
// durable local log on disk, and is removed from it only after the store
// confirmed it.
//
// # Use
//
//	ob, err := outbox.Open(dir, outbox.Options{Sync: outbox.SyncEvery, MaxBytes: 1 << 30})
//	go ob.Run(ctx, st)              // delivers to the store.Store, in order
//	err = ob.Append(reads)          // durable when it returns nil
//	if errors.Is(err, outbox.ErrFull) { /* slow the polling down */ }
//
// Append never drops anything: when the log would grow past
// Options.MaxBytes it refuses the batch with ErrFull, and the collector
// answers by slowing its polling (the meters keep their load profiles and
// freezes, so what is not polled now is read back later). The batch it
// was given is not in the outbox; the caller still holds it. So it is
// with ErrLowDisk, when the free space of the outbox's filesystem is below
// Options.Reserve (kept for the checkpoint, the store's journal and the
// log), and with a write that failed (a full disk, an I/O error): the
// segment is cut back to its last whole record and stays valid.
//
// # Delivery
//
// Drain (once) and Run (until its context ends) read the batches in the
// order they were appended and write each to the store. Only when
// store.Store.Write returned nil is the batch acknowledged: a small
// checkpoint file holding the next sequence number to deliver is replaced
// atomically (write a temporary file, fsync it, rename it over the old
// one, fsync the directory). A segment whose batches are all acknowledged
// is deleted. A store error is retried, with Options.Backoff between
// attempts, for as long as it takes, and nothing behind the failing batch
// is sent meanwhile, so order is kept.
//
// Consecutive batches are gathered into one store write of up to
// Options.DeliverReads reads and acknowledged by one checkpoint, so that a
// database sees few large writes and the checkpoint's fsync is paid per
// group, not per batch.
//
// Delivery is at least once. The one group of batches that can reach the
// store twice is the one in flight at a crash: written to the store but not yet
// acknowledged in the checkpoint. Reopening sends it again, and since
// store.Store.Write is idempotent by store.Key, the second write replaces
// the first with the same point: no duplicate is stored. Nothing
// acknowledged is ever sent again.
//
// # On disk
//
// The directory holds segment files named by the sequence number of their
// first batch (00000000000000000042.seg), the checkpoint file and a LOCK
// file (flock'ed, so two processes cannot share an outbox). A segment is a
// sequence of records
//
//	[length uint32 LE][crc32c(payload) uint32 LE][payload]
//
// one per batch; the payload is a compact binary encoding of []read.Read
// (see appendBatch in codec.go) that keeps every field exactly: Decimals,
// the frame bytes (nil and empty distinguished) and times with their zone
// name and offset. A new segment is started when the active one would
// pass Options.SegmentBytes.
//
// # Recovery
//
// Open scans every segment. A record cut short (a crash mid-write), with
// a bad length or a checksum that does not match ends the segment: the
// file is truncated there, fsynced, and the cut is reported by Recovery as
// a *CorruptError (errors.Is ErrCorrupt). Everything before it is kept;
// the rest of that segment goes with it (CorruptError.Dropped says how
// many bytes); later segments are kept. The checkpoint says where
// delivery resumes. A checkpoint ahead of the log (its tail lost in a
// power cut after it was delivered) makes new batches start a fresh
// segment at the checkpoint, so none of them counts as acknowledged.
// With SyncEvery only the tail of the last segment can be torn, and the
// torn batch is one whose Append never returned nil. A cut anywhere else
// means the disk lost data that was synced (or, under SyncInterval and
// SyncNone, a power cut) and should be alarmed on.
package outbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// SyncPolicy says when appended batches are forced to disk.
type SyncPolicy int

// Sync policies.
const (
	// SyncEvery fsyncs each batch before Append returns: a batch whose
	// Append returned nil survives a power cut. The default.
	SyncEvery SyncPolicy = iota
	// SyncInterval fsyncs every Options.Interval: a power cut can lose
	// the last interval's batches (a process crash loses nothing).
	SyncInterval
	// SyncNone leaves flushing to the kernel (and Close): a process crash
	// loses nothing, a power cut can lose whatever was not written back.
	SyncNone
)

func (p SyncPolicy) String() string {
	switch p {
	case SyncEvery:
		return "every"
	case SyncInterval:
		return "interval"
	case SyncNone:
		return "none"
	}
	return "SyncPolicy(" + strconv.Itoa(int(p)) + ")"
}

// Options configure an Outbox. Zero fields take the defaults.
type Options struct {
	Sync     SyncPolicy
	Interval time.Duration // for SyncInterval; default 1s
	// MaxBytes bounds the bytes of segment files on disk; default 1 GiB.
	// Segments are reclaimed whole, so up to one segment of acknowledged
	// batches can still count against it: keep SegmentBytes well below.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment is started; default
	// 16 MiB, at most MaxBytes. A batch larger than it gets a segment of
	// its own.
	SegmentBytes int64
	// DeliverReads is how many reads Drain gathers, from consecutive
	// batches, into one store write and one checkpoint; default 5000. A
	// single batch larger than it goes alone.
	DeliverReads int
	// Backoff returns the wait before retry number attempt (1, 2, ...)
	// of a store write that failed. Default: DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Reserve is the free space Append leaves on the filesystem of the
	// outbox (refusing with ErrLowDisk below it), so that the checkpoint,
	// the store's journal and the log can still be written when the disk
	// fills. Zero: DefaultReserve of the filesystem's size; negative:
	// none.
	Reserve int64
}

// DefaultReserve is the reserve kept on a filesystem of size bytes: 5 %
// of it, at most 256 MiB (1 MiB on a 20 MiB filesystem, 256 MiB from
// 5 GiB up).
func DefaultReserve(size int64) int64 {
	return min(size/20, 256<<20)
}

func (o Options) withDefaults() Options {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 16 << 20
	}
	o.SegmentBytes = min(o.SegmentBytes, o.MaxBytes)
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.DeliverReads <= 0 {
		o.DeliverReads = 5000
	}
	return o
}

// DefaultBackoff waits 100ms before the first retry, doubling up to 30s,
// each wait with up to 20% jitter.
func DefaultBackoff(attempt int) time.Duration {
	d := 30 * time.Second
	if attempt < 10 {
		d = min(d, 100*time.Millisecond<<max(attempt-1, 0))
	}
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// Errors.
var (
	// ErrFull is returned by Append when the batch would take the outbox
	// past Options.MaxBytes. Nothing was written; the caller should slow
	// down and try again once the drainer has caught up.
	ErrFull = errors.New("outbox: full")
	// ErrTooLarge is returned by Append for a batch that could never fit
	// (larger than MaxBytes or than a record can hold).
	ErrTooLarge = errors.New("outbox: batch larger than the outbox can hold")
	// ErrLowDisk is returned (wrapped, with the figures) by Append when
	// the free space of the outbox's filesystem is below
	// Options.Reserve. Nothing was written; try again once space returns.
	ErrLowDisk = errors.New("outbox: low disk")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("outbox: closed")
	// ErrCorrupt matches every *CorruptError.
	ErrCorrupt = errors.New("outbox: corrupt")
)

// CorruptError reports a damaged span of a segment or checkpoint: at Open
// (see Outbox.Recovery) the span was cut away; from Drain, a record that
// turned bad after Open stops delivery.
type CorruptError struct {
	File    string // the file's path
	Offset  int64  // where the bad record starts
	Dropped int64  // bytes cut away from Offset to the old end of file
	Reason  error  // torn record, bad length, checksum mismatch, bad payload
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("outbox: corrupt %s at offset %d (%d bytes dropped): %v", e.File, e.Offset, e.Dropped, e.Reason)
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Reason} }

// Stats count what happened since Open.
type Stats struct {
	Appended  int64 // batches appended
	Delivered int64 // batches the store confirmed
	Retries   int64 // store writes that failed and were retried
	Full      int64 // Appends refused with ErrFull
	LowDisk   int64 // Appends refused with ErrLowDisk
	Failed    int64 // Appends whose write or fsync failed and was undone
}

const (
	segSuffix      = ".seg"
	checkpointName = "checkpoint"
	checkpointTmp  = "checkpoint.tmp"
	lockName       = "LOCK"
)

type segment struct {
	base  uint64 // sequence number of its first batch
	path  string
	size  int64 // bytes of whole records
	count int64 // records
}

// Outbox is a durable log of batches of reads. Its methods are safe for
// concurrent use; Drain and Run calls are serialized.
type Outbox struct {
	dir  string
	opts Options
	lock *os.File

	mu         sync.Mutex
	segs       []*segment // oldest first; the last is active
	active     *os.File   // the last segment, open for appending
	nextSeq    uint64     // the sequence number the next batch gets
	ackSeq     uint64     // the first unacknowledged sequence number
	ackedCount int64      // acknowledged records at the head of segs[0]
	ackedBytes int64      // and their bytes
	diskBytes  int64      // sizes of all segments
	totalCount int64      // records in all segments
	dirty      bool       // written since the last fsync
	err        error      // sticky: a write or fsync failed
	closed     bool
	recovery   []*CorruptError
	stats      Stats

	notify   chan struct{} // an Append happened (cap 1)
	closing  chan struct{}
	syncDone chan struct{}

	reserve int64 // free bytes Append leaves on the filesystem; 0: none
	lowDisk bool  // the last Append found the filesystem below the reserve

	drainMu sync.Mutex
	rf      *os.File // the drainer's read handle on rfSeg
	rfSeg   *segment
}

// Open opens the outbox in dir, creating it if needed, and recovers it:
// see the package documentation.
func Open(dir string, opts Options) (*Outbox, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	lock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		return nil, err
	}
	o := &Outbox{
		dir:     dir,
		opts:    opts,
		lock:    lock,
		notify:  make(chan struct{}, 1),
		closing: make(chan struct{}),
	}
	if err := o.recover(); err != nil {
		if o.active != nil {
			o.active.Close()
		}
		lock.Close()
		return nil, err
	}
	switch _, size, err := diskSpace(dir); {
	case opts.Reserve < 0, err != nil:
	case opts.Reserve > 0:
		o.reserve = opts.Reserve
	default:
		o.reserve = DefaultReserve(size)
	}
	if opts.Sync == SyncInterval {
		o.syncDone = make(chan struct{})
		go o.syncLoop()
	}
	return o, nil
}

func segName(base uint64) string { return fmt.Sprintf("%020d%s", base, segSuffix) }

func (o *Outbox) recover() error {
	ack, err := readCheckpoint(filepath.Join(o.dir, checkpointName))
	var ce *CorruptError
	if errors.As(err, &ce) {
		// Start from the oldest batch kept: re-sending is harmless.
		o.recovery = append(o.recovery, ce)
	} else if err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(o.dir, checkpointTmp)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return err
	}
	var segs []*segment
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segSuffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		base, err := strconv.ParseUint(name, 10, 64)
		if err != nil || segName(base) != e.Name() {
			continue
		}
		segs = append(segs, &segment{base: base, path: filepath.Join(o.dir, e.Name())})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].base < segs[j].base })

	o.nextSeq = ack
	for _, s := range segs {
		offsets, ce, err := scanSegment(s)
		if err != nil {
			return err
		}
		if ce != nil {
			o.recovery = append(o.recovery, ce)
		}
		end := s.base + uint64(s.count)
		o.nextSeq = max(o.nextSeq, end)
		if end <= ack {
			// Fully acknowledged: the crash came between the checkpoint
			// and the delete.
			if err := os.Remove(s.path); err != nil {
				return err
			}
			continue
		}
		if len(o.segs) == 0 && s.base < ack {
			o.ackedCount = int64(ack - s.base)
			o.ackedBytes = offsets[o.ackedCount]
		}
		o.segs = append(o.segs, s)
		o.diskBytes += s.size
		o.totalCount += s.count
	}
	o.ackSeq = ack
	if len(o.segs) == 0 {
		return o.newSegment()
	}
	last := o.segs[len(o.segs)-1]
	f, err := os.OpenFile(last.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	o.active = f
	return nil
}

// scanSegment counts and sizes the whole records of s, truncating the file
// at the first bad one. It returns the offset of each record and, last,
// of the end.
func scanSegment(s *segment) ([]int64, *CorruptError, error) {
	b, err := os.ReadFile(s.path)
	if err != nil {
		return nil, nil, err
	}
	offsets := []int64{0}
	off := 0
	var reason error
	for off < len(b) {
		_, n, err := decodeRecord(b[off:])
		if err != nil {
			reason = err
			break
		}
		off += n
		offsets = append(offsets, int64(off))
	}
	s.size, s.count = int64(off), int64(len(offsets)-1)
	if reason == nil {
		return offsets, nil, nil
	}
	ce := &CorruptError{File: s.path, Offset: int64(off), Dropped: int64(len(b) - off), Reason: reason}
	f, err := os.OpenFile(s.path, os.O_WRONLY, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if err := f.Truncate(int64(off)); err != nil {
		return nil, nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, nil, err
	}
	return offsets, ce, nil
}

// newSegment starts a segment at nextSeq and makes it the active one.
// o.mu is held (or o is not yet shared).
func (o *Outbox) newSegment() error {
	s := &segment{base: o.nextSeq, path: filepath.Join(o.dir, segName(o.nextSeq))}
	if last := len(o.segs) - 1; last >= 0 && o.segs[last].base == s.base {
		return fmt.Errorf("outbox: new segment %s: the active one has no record", s.path)
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if err := syncDir(o.dir); err != nil {
		f.Close()
		os.Remove(s.path)
		return err
	}
	o.segs = append(o.segs, s)
	o.active = f
	o.dirty = false
	return nil
}

// rotate seals the active segment and starts the next. When the next
// cannot be made (a full disk), the active segment stays as it was and
// the error is returned. o.mu is held.
func (o *Outbox) rotate() error {
	if o.dirty && o.opts.Sync != SyncNone {
		if err := o.active.Sync(); err != nil {
			return err
		}
		o.dirty = false
	}
	old := o.active
	if err := o.newSegment(); err != nil {
		o.active = old
		return err
	}
	old.Close() // synced above; a close error cannot lose what was synced
	return nil
}

// dropAcked deletes sealed segments whose batches are all acknowledged.
// o.mu is held.
func (o *Outbox) dropAcked() error {
	for len(o.segs) > 1 && o.ackedCount == o.segs[0].count {
		s := o.segs[0]
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		o.segs = o.segs[1:]
		o.diskBytes -= s.size
		o.totalCount -= s.count
		o.ackedCount, o.ackedBytes = 0, 0
	}
	return nil
}

// Append adds a batch to the outbox. When it returns nil the batch is
// written, and under SyncEvery on stable storage. ErrFull means the
// outbox is at Options.MaxBytes, ErrLowDisk that its filesystem is below
// Options.Reserve; nothing was written. A write or fsync that fails (a
// full disk, a quota, an I/O error) is undone: the segment is cut back to
// its last whole record, so that later Appends and recovery find it
// valid, and the error is returned; the batch is not in the outbox and
// may be tried again. Only when the cut itself fails is the error
// sticky: every Append fails until the outbox is reopened.
func (o *Outbox) Append(reads []meter.Read) error {
	if len(reads) == 0 {
		return nil
	}
	rec := appendBatch(make([]byte, headerSize, headerSize+len(reads)*128), reads)
	if len(rec)-headerSize > maxRecord || int64(len(rec)) > o.opts.MaxBytes {
		return ErrTooLarge
	}
	sealRecord(rec)
	n := int64(len(rec))

	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closed:
		return ErrClosed
	case o.err != nil:
		return o.err
	}
	if o.diskBytes+n > o.opts.MaxBytes {
		if err := o.reclaim(); err != nil {
			o.stats.Failed++
			return fmt.Errorf("outbox: reclaiming delivered segments: %w", err)
		}
		if o.diskBytes+n > o.opts.MaxBytes {
			o.stats.Full++
			return ErrFull
		}
	}
	if o.reserve > 0 {
		// Once below the reserve, wait for a quarter more than it, so that
		// a disk at the edge does not let every other batch through.
		need := o.reserve
		if o.lowDisk {
			need += o.reserve / 4
		}
		free, _, err := diskSpace(o.dir)
		if o.lowDisk = err == nil && free-n < need; o.lowDisk {
			o.stats.LowDisk++
			return fmt.Errorf("%w: %d bytes free on the filesystem of %s, %d kept in reserve", ErrLowDisk, free, o.dir, o.reserve)
		}
	}
	act := o.segs[len(o.segs)-1]
	if act.size > 0 && act.size+n > o.opts.SegmentBytes {
		if err := o.rotate(); err != nil {
			o.stats.Failed++
			return fmt.Errorf("outbox: new segment: %w", err)
		}
		act = o.segs[len(o.segs)-1]
	}
	_, err := o.active.Write(rec)
	if err == nil && o.opts.Sync == SyncEvery {
		err = o.active.Sync()
	}
	if err != nil {
		return o.undo(act, err)
	}
	act.size += n
	act.count++
	o.nextSeq++
	o.diskBytes += n
	o.totalCount++
	o.stats.Appended++
	o.dirty = o.opts.Sync != SyncEvery
	select {
	case o.notify <- struct{}{}:
	default:
	}
	return nil
}

// undo cuts the active segment act back to its last whole record after
// a write or fsync of a record failed with err, and fsyncs the cut. o.mu
// is held.
func (o *Outbox) undo(act *segment, err error) error {
	o.stats.Failed++
	if terr := o.active.Truncate(act.size); terr != nil {
		return o.fail(errors.Join(err, fmt.Errorf("cutting %s back to %d bytes: %w", act.path, act.size, terr)))
	}
	if o.opts.Sync != SyncNone {
		if serr := o.active.Sync(); serr != nil {
			// Try again at the next Append: the cut is in the page cache,
			// and a later fsync writes it.
			o.dirty = true
		}
	}
	return fmt.Errorf("outbox: append to %s: %w (undone; nothing of the batch is kept)", act.path, err)
}

// fail makes err sticky. o.mu is held.
func (o *Outbox) fail(err error) error {
	o.err = fmt.Errorf("outbox: disk failure, reopen to continue: %w", err)
	return o.err
}

// reclaim frees what acknowledged batches hold when the outbox is at its
// bound: a fully acknowledged active segment is sealed so it can be
// deleted. o.mu is held.
func (o *Outbox) reclaim() error {
	if len(o.segs) == 1 && o.segs[0].count > 0 && o.ackedCount == o.segs[0].count {
		if err := o.rotate(); err != nil {
			return err
		}
	}
	return o.dropAcked()
}

// Reserve returns the free space Append leaves on the outbox's
// filesystem (0: none).
func (o *Outbox) Reserve() int64 { return o.reserve }

// Backlog returns the batches not yet acknowledged and their bytes on
// disk, for health checks and metrics.
func (o *Outbox) Backlog() (batches, bytes int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.totalCount - o.ackedCount, o.diskBytes - o.ackedBytes
}

// Stats returns the counters since Open.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stats
}

// Recovery returns what Open cut away: a torn tail, a record with a bad
// checksum or length, an unreadable checkpoint. Empty after a clean
// shutdown or a crash between records.
func (o *Outbox) Recovery() []*CorruptError {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*CorruptError(nil), o.recovery...)
}

func (o *Outbox) syncLoop() {
	defer close(o.syncDone)
	t := time.NewTicker(o.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-o.closing:
			return
		case <-t.C:
		}
		o.mu.Lock()
		if o.dirty && o.err == nil && !o.closed {
			if err := o.active.Sync(); err != nil {
				o.fail(err)
			}
			o.dirty = false
		}
		o.mu.Unlock()
	}
}

// Close syncs and closes the outbox. It waits for a Drain in progress to
// finish its store write: cancel Run's context first.
func (o *Outbox) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	close(o.closing)
	o.mu.Unlock()
	if o.syncDone != nil {
		<-o.syncDone
	}
	o.drainMu.Lock()
	if o.rf != nil {
		o.rf.Close()
		o.rf, o.rfSeg = nil, nil
	}
	o.drainMu.Unlock()

	o.mu.Lock()
	defer o.mu.Unlock()
	var err error
	if o.err == nil {
		err = o.active.Sync()
	}
	if cerr := o.active.Close(); err == nil {
		err = cerr
	}
	if cerr := o.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

// Drain delivers every batch not yet acknowledged to s, in order, and
// returns nil when there is none left (batches appended meanwhile are
// delivered too). A failing store write is retried after
// Options.Backoff(attempt) until it succeeds or ctx ends. It returns
// ctx's error, ErrClosed, a *CorruptError for a record that went bad
// since Open, or an error writing the checkpoint (the batch is then sent
// again by the next Drain).
func (o *Outbox) Drain(ctx context.Context, s store.Store) error {
	o.drainMu.Lock()
	defer o.drainMu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Consecutive batches of the head segment go to the store in one
		// write of up to DeliverReads reads and are acknowledged with one
		// checkpoint. A record that fails to read ends the group; if it
		// is the first, its error is returned.
		var reads []meter.Read
		var seq uint64
		var taken, count int64
		for count == 0 || len(reads) < o.opts.DeliverReads {
			payload, s0, n, err := o.next(taken, count)
			if err == nil && payload != nil {
				var batch []meter.Read
				if batch, err = decodeBatch(payload); err != nil {
					err = &CorruptError{File: o.rfSeg.path, Offset: o.ackedOffset() + taken, Reason: err}
				} else {
					reads = append(reads, batch...)
				}
			}
			if err != nil || payload == nil {
				if count == 0 {
					return err
				}
				break
			}
			seq, taken, count = s0, taken+n, count+1
		}
		for attempt := 1; ; attempt++ {
			err := s.Write(ctx, reads)
			if err == nil {
				break
			}
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			o.mu.Lock()
			o.stats.Retries++
			o.mu.Unlock()
			if err := o.wait(ctx, o.opts.Backoff(attempt)); err != nil {
				return err
			}
		}
		if err := o.ack(seq+1, taken, count); err != nil {
			return err
		}
	}
}

func (o *Outbox) ackedOffset() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ackedBytes
}

// next reads the first unacknowledged batch of the head segment after the
// skipCount batches (skipBytes bytes) already taken: its payload (nil if
// there is none), sequence number and record size. o.drainMu is held.
func (o *Outbox) next(skipBytes, skipCount int64) (payload []byte, seq uint64, n int64, err error) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil, 0, 0, ErrClosed
	}
	if err := o.dropAcked(); err != nil {
		o.mu.Unlock()
		return nil, 0, 0, err
	}
	head := o.segs[0]
	if o.ackedCount+skipCount >= head.count {
		o.mu.Unlock()
		return nil, 0, 0, nil
	}
	off, end := o.ackedBytes+skipBytes, head.size
	seq = head.base + uint64(o.ackedCount) + uint64(skipCount)
	o.mu.Unlock()

	// head cannot be deleted under us: only ack, called by this
	// goroutine, makes its records acknowledged.
	if o.rfSeg != head {
		if o.rf != nil {
			o.rf.Close()
		}
		o.rf, o.rfSeg = nil, nil
		f, err := os.Open(head.path)
		if err != nil {
			return nil, 0, 0, err
		}
		o.rf, o.rfSeg = f, head
	}
	var hdr [headerSize]byte
	if _, err := o.rf.ReadAt(hdr[:], off); err != nil {
		return nil, 0, 0, err
	}
	length := int64(binary.LittleEndian.Uint32(hdr[0:]))
	if length == 0 || off+headerSize+length > end {
		return nil, 0, 0, &CorruptError{File: head.path, Offset: off, Reason: errLength}
	}
	rec := make([]byte, headerSize+length)
	copy(rec, hdr[:])
	if _, err := o.rf.ReadAt(rec[headerSize:], off+headerSize); err != nil {
		return nil, 0, 0, err
	}
	payload, _, err = decodeRecord(rec)
	if err != nil {
		return nil, 0, 0, &CorruptError{File: head.path, Offset: off, Reason: err}
	}
	return payload, seq, int64(len(rec)), nil
}

// ack records that the store confirmed the count batches of n bytes
// before sequence number next: durably first, then in memory.
func (o *Outbox) ack(next uint64, n, count int64) error {
	if err := writeCheckpoint(o.dir, next); err != nil {
		return fmt.Errorf("outbox: checkpoint: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ackSeq = next
	o.ackedCount += count
	o.ackedBytes += n
	o.stats.Delivered += count
	return o.dropAcked()
}

// wait sleeps d, or until ctx ends or the outbox closes.
func (o *Outbox) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-o.closing:
			return ErrClosed
		default:
			return nil
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-o.closing:
		return ErrClosed
	case <-t.C:
		return nil
	}
}

// Run drains to s until ctx ends or the outbox closes, waiting for
// Appends when there is nothing to send. Errors other than those (a
// checkpoint that could not be written) are retried with Options.Backoff;
// a *CorruptError is returned.
func (o *Outbox) Run(ctx context.Context, s store.Store) error {
	attempt := 0
	for {
		err := o.Drain(ctx, s)
		switch {
		case err == nil:
			attempt = 0
			select {
			case <-o.notify:
			case <-ctx.Done():
				return ctx.Err()
			case <-o.closing:
				return ErrClosed
			}
		case errors.Is(err, ErrClosed), errors.Is(err, ErrCorrupt), ctx.Err() != nil:
			return err
		default:
			attempt++
			if err := o.wait(ctx, o.opts.Backoff(attempt)); err != nil {
				return err
			}
		}
	}
}

// The checkpoint is 16 bytes: "HEOC", the next sequence number to deliver
// (uint64 LE), and the crc32c of those 12 bytes (uint32 LE).
var checkpointMagic = [4]byte{'H', 'E', 'O', 'C'}

func writeCheckpoint(dir string, next uint64) error {
	var b [16]byte
	copy(b[:], checkpointMagic[:])
	binary.LittleEndian.PutUint64(b[4:], next)
	binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b[:12], castagnoli))
	tmp := filepath.Join(dir, checkpointTmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(b[:])
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, checkpointName))
	}
	if err == nil {
		err = syncDir(dir)
	}
	return err
}

// readCheckpoint returns the next sequence number to deliver: 0 when there
// is no checkpoint, and 0 with a *CorruptError when it is unreadable.
func readCheckpoint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(b) != 16 || [4]byte(b[:4]) != checkpointMagic ||
		crc32.Checksum(b[:12], castagnoli) != binary.LittleEndian.Uint32(b[12:]) {
		return 0, &CorruptError{File: path, Dropped: int64(len(b)), Reason: errors.New("bad checkpoint (everything kept is sent again)")}
	}
	return binary.LittleEndian.Uint64(b[4:]), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
