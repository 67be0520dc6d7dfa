package outbox

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// Append cost for batches of 100 reads, with the write amplification:
//
//	file-B/payload-B  bytes of segment files per byte of encoded batch
//	                  (the record framing)
//	io-B/payload-B    bytes the process sent to the storage layer
//	                  (/proc/self/io write_bytes: whole pages, again after
//	                  each fsync) per byte of encoded batch; Linux only,
//	                  0 on tmpfs
//	B/read            encoded payload bytes per read
func BenchmarkAppendSyncEvery(b *testing.B) { benchAppend(b, SyncEvery) }
func BenchmarkAppendSyncNone(b *testing.B)  { benchAppend(b, SyncNone) }

func benchAppend(b *testing.B, p SyncPolicy) {
	const size = 100
	rs := batch(1, size)
	payload := int64(len(appendBatch(nil, rs)))
	dir := b.TempDir()
	o := mustOpen(b, dir, Options{Sync: p, MaxBytes: 1 << 40, SegmentBytes: 64 << 20})
	io0 := ioWriteBytes()
	for b.Loop() {
		if err := o.Append(rs); err != nil {
			b.Fatal(err)
		}
	}
	io1 := ioWriteBytes()
	_, disk := o.Backlog()
	mustClose(b, o)
	total := payload * int64(b.N)
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "reads/s")
	b.ReportMetric(float64(disk)/float64(total), "file-B/payload-B")
	if io0 >= 0 && io1 >= 0 {
		b.ReportMetric(float64(io1-io0)/float64(total), "io-B/payload-B")
	}
	b.ReportMetric(float64(payload)/size, "B/read")
}

// ioWriteBytes returns write_bytes from /proc/self/io, or -1.
func ioWriteBytes() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("write_bytes: ")); ok {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// BenchmarkDrain delivers batches of 100 reads to a store that does
// nothing: the outbox's own cost per batch (read, decode, and the
// checkpoint's write, fsync, rename and directory fsync).
//
// BenchmarkDrainOneBatch acknowledges batch by batch (DeliverReads 1);
// BenchmarkDrain gathers up to the default 5000 reads a write.
func BenchmarkDrain(b *testing.B)         { benchDrain(b, 5000) }
func BenchmarkDrainOneBatch(b *testing.B) { benchDrain(b, 1) }

func benchDrain(b *testing.B, deliver int) {
	const size = 100
	o := mustOpen(b, b.TempDir(), Options{Sync: SyncNone, MaxBytes: 1 << 40, SegmentBytes: 4 << 20, DeliverReads: deliver})
	defer mustClose(b, o)
	rs := batch(1, size)
	for range b.N {
		if err := o.Append(rs); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	if err := o.Drain(context.Background(), nopStore{}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "reads/s")
}

type nopStore struct{}

func (nopStore) Write(context.Context, []meter.Read) error                { return nil }
func (nopStore) Query(context.Context, store.Query) ([]meter.Read, error) { return nil, nil }
func (nopStore) Close() error                                             { return nil }
