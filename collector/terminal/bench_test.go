package terminal

import (
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// BenchmarkTerminalsOnline logs in b.N terminals over loopback and
// reports the head-end's heap per online terminal (the client side's
// connections are counted too, so it is an upper bound).
func BenchmarkTerminalsOnline(b *testing.B) {
	l := listen(b, nil)
	l.cfg.Known = func(string) (time.Duration, bool) { return time.Minute, true }
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	conns := make([]net.Conn, 0, b.N)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	b.ResetTimer()
	for i := range b.N {
		nc, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, nc)
		f, _ := gdw3761.Link(gdw3761.Address{Area: 4401, Terminal: uint16(i%65535 + 1)}, 0, 1, gdw3761.DateTime{})
		w, _ := f.MarshalBinary()
		nc.Write(w)
		var ack [64]byte
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := nc.Read(ack[:]); err != nil {
			b.Fatal(fmt.Errorf("terminal %d: %w", i, err))
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/float64(b.N), "heap-B/terminal")
	b.ReportMetric(float64(after.StackInuse-before.StackInuse)/float64(b.N), "stack-B/terminal")
	b.ReportMetric(float64(runtime.NumGoroutine())/float64(b.N), "goroutines/terminal")
}
