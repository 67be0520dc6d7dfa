package influx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// InfluxDB's time range: nanoseconds since 1970 in an int64, less the
// two values it reserves.
var (
	minTime = time.Unix(0, -1<<63+2)
	maxTime = time.Unix(0, 1<<63-2)
)

// Write stores reads: see the package comment. A batch with a read that
// store.Check refuses, or whose time InfluxDB cannot hold, is refused
// whole, naming the read's index; nothing of it is written. Reads already
// past Options.Retention are left out. Two reads of one key in reads are
// one point, the later one's.
func (s *Store) Write(ctx context.Context, reads []meter.Read) error {
	for i := range reads {
		r := &reads[i]
		err := store.Check(r)
		if t := store.Time(r); err == nil && (t.Before(minTime) || t.After(maxTime)) {
			err = fmt.Errorf("time %v outside InfluxDB's range", t)
		}
		if err != nil {
			return fmt.Errorf("influx: write: read %d (meter %q, quantity %q): %w", i, r.Meter, r.Quantity, err)
		}
	}
	reads = store.Thin(reads) // after the checks, so that an index names the caller's read
	// Retention counts back from the clock, but not from later than the
	// newest read of the kind in the batch: a clock ahead of the reads
	// (jumped forward) must not drop them.
	var newest [2]time.Time
	for i := range reads {
		if k, t := store.KindOf(reads[i].Class), store.Time(&reads[i]); t.After(newest[k]) {
			newest[k] = t
		}
	}
	now := s.opts.Now()
	var byBucket [3][]int // read indexes by kind (Raw, Registers; Aggregates unused)
	for i := range reads {
		r := &reads[i]
		if s.opts.Retention.Expired(r.Class, store.Time(r), store.Horizon(now, newest[store.KindOf(r.Class)])) {
			continue
		}
		k := store.KindOf(r.Class)
		byBucket[k] = append(byBucket[k], i)
	}
	type part struct {
		batch
		idx []int
	}
	var parts []part
	for k, idx := range byBucket {
		if len(idx) == 0 {
			continue
		}
		if len(idx) > s.opts.BatchSize {
			// Batches travel at once: a key in two of them would end as
			// whichever arrived last, not as the later read.
			idx = lastOfEachKey(reads, idx)
		}
		bk := s.bucketOf(store.Kind(k))
		for lo := 0; lo < len(idx); lo += s.opts.BatchSize {
			hi := min(lo+s.opts.BatchSize, len(idx))
			parts = append(parts, part{batch{bucket: bk, first: lo, n: hi - lo}, idx[lo:hi]})
		}
	}
	return s.send(ctx, len(parts), func(i int, b []byte) ([]byte, batch) {
		// Each frames point goes with the first read of the batch that
		// refers to it, so that a confirmed batch holds its reads' frames.
		sets := map[frameSet]bool{}
		for _, j := range parts[i].idx {
			r := &reads[j]
			fs, ok := frameSetOf(r)
			if !ok {
				b = appendRead(b, r)
				continue
			}
			b = appendReadRef(b, r, fs.hash)
			if !sets[fs] {
				sets[fs] = true
				b = appendFrameSet(b, r, fs)
			}
		}
		return b, parts[i].batch
	})
}

// writeLines writes n lines to bucket in batches, line appending the
// i-th.
func (s *Store) writeLines(ctx context.Context, bucket string, n int, line func(b []byte, i int) []byte) error {
	size := s.opts.BatchSize
	return s.send(ctx, (n+size-1)/size, func(i int, b []byte) ([]byte, batch) {
		lo, hi := i*size, min(i*size+size, n)
		for j := lo; j < hi; j++ {
			b = line(b, j)
		}
		return b, batch{bucket: bucket, first: lo, n: hi - lo}
	})
}

// lastOfEachKey returns idx without the reads whose key a later read in
// idx has.
func lastOfEachKey(reads []meter.Read, idx []int) []int {
	last := make(map[store.Key]int, len(idx))
	for _, i := range idx {
		last[store.KeyOf(&reads[i])] = i
	}
	if len(last) == len(idx) {
		return idx
	}
	out := make([]int, 0, len(last))
	for _, i := range idx {
		if last[store.KeyOf(&reads[i])] == i {
			out = append(out, i)
		}
	}
	return out
}

// batch names one HTTP write: n points of bucket, the first of them
// number first of what the call wrote to that bucket.
type batch struct {
	bucket   string
	first, n int
}

var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// send writes n batches, at most Options.MaxInFlight at once across the
// Store, each encoded by encode into a buffer it is given. It returns when
// every batch is confirmed, or with the first batch's error once the
// batches already sent have returned (the others are not sent).
func (s *Store) send(ctx context.Context, n int, encode func(i int, b []byte) ([]byte, batch)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i := range n {
		acquired := false
		select {
		case s.sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if ctx.Err() != nil { // a batch failed, or ctx ended
			if acquired {
				<-s.sem
			}
			break
		}
		wg.Go(func() {
			defer func() { <-s.sem }()
			bp := bufPool.Get().(*[]byte)
			b, bt := encode(i, (*bp)[:0])
			err := s.post(ctx, bt, b)
			*bp = b
			bufPool.Put(bp)
			if err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// post sends one batch and reads the server's verdict.
func (s *Store) post(ctx context.Context, bt batch, body []byte) error {
	where := fmt.Sprintf("influx %s: bucket %s: batch of points %d..%d", s.opts.URL, bt.bucket, bt.first, bt.first+bt.n-1)
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.writeURL[bt.bucket], bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if s.opts.Token != "" {
		req.Header.Set("Authorization", "Token "+s.opts.Token)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	msg := serverMessage(resp)
	if dropped, ok := pastRetention(resp.StatusCode, msg); ok {
		s.log.Debug("points past the bucket's retention dropped by the database",
			"bucket", bt.bucket, "batch_first", bt.first, "points", bt.n, "dropped", dropped)
		return nil
	}
	return fmt.Errorf("%s: HTTP %d: %s", where, resp.StatusCode, msg)
}

// serverMessage is the error an InfluxDB response carries: the JSON body's
// "error" (1.8) or "message" (2.x), else the X-Influxdb-Error header, else
// the body; at most maxMessage bytes of it (a parse error quotes lines).
func serverMessage(resp *http.Response) string {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e struct{ Error, Message string }
	msg := strings.TrimSpace(string(body))
	switch {
	case json.Unmarshal(body, &e) == nil && e.Error != "":
		msg = e.Error
	case e.Message != "":
		msg = e.Message
	case resp.Header.Get("X-Influxdb-Error") != "":
		msg = resp.Header.Get("X-Influxdb-Error")
	case msg == "":
		msg = resp.Status
	}
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + " ..."
	}
	return msg
}

// maxMessage bounds the server's message in an error.
const maxMessage = 2048

// retentionRE is the whole of InfluxDB's message for a write whose only
// problem is points older than the retention policy (1.8 answers 400 with
// the first form, 2.x 422 with its prefix).
var retentionRE = regexp.MustCompile(`^(?:failure writing points to database: )?partial write: points beyond retention policy dropped=(\d+)$`)

// pastRetention reports whether a refusal says exactly that the points it
// dropped were past the bucket's retention, and how many: that is what
// retention means, not a failure. The other points of the batch are
// written. Any other refusal, or this one together with another reason,
// is a failure.
func pastRetention(status int, msg string) (dropped int, ok bool) {
	if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
		return 0, false
	}
	m := retentionRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}
