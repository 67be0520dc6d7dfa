// Package tcpfront is a TCP load balancer for tests: the one address a
// utility's dial-in concentrators and terminals are given, in front of
// every head-end node's listener. Each connection it accepts goes to the
// next target in turn that answers (round robin, a dead node skipped), and
// is held until there is a target; Cut drops every connection it carries,
// as a balancer or a GPRS network that loses its sessions does.
package tcpfront

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// Front is a running balancer.
type Front struct {
	ln net.Listener

	mu      sync.Mutex
	targets []string
	next    int
	set     chan struct{} // closed once there are targets
	conns   map[net.Conn]bool
	carried int64
}

// Start listens on a free loopback port until the test ends.
func Start(t testing.TB) *Front {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &Front{ln: ln, set: make(chan struct{}), conns: map[net.Conn]bool{}}
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		if f.targets == nil {
			f.targets = []string{}
			close(f.set) // the connections held go: no target
		}
		f.mu.Unlock()
		f.Cut()
	})
	go f.accept()
	return f
}

// Addr is the address the field dials.
func (f *Front) Addr() string { return f.ln.Addr().String() }

// Route sends the connections accepted from now on to addrs, in turn.
func (f *Front) Route(addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.targets == nil {
		close(f.set)
	}
	f.targets = append([]string{}, addrs...)
}

// Cut closes every connection carried now.
func (f *Front) Cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.Close()
	}
	clear(f.conns)
}

// Carried is how many connections reached a target.
func (f *Front) Carried() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.carried
}

func (f *Front) accept() {
	for {
		in, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.carry(in)
	}
}

// dial connects to the next target that answers.
func (f *Front) dial() (net.Conn, error) {
	f.mu.Lock()
	targets, start := f.targets, f.next
	f.next++
	f.mu.Unlock()
	err := errors.New("tcpfront: no target")
	for i := range targets {
		var out net.Conn
		if out, err = net.Dial("tcp", targets[(start+i)%len(targets)]); err == nil {
			return out, nil
		}
	}
	return nil, err
}

func (f *Front) carry(in net.Conn) {
	f.mu.Lock()
	f.conns[in] = true
	set := f.set
	f.mu.Unlock()
	<-set
	out, err := f.dial()
	if err != nil {
		in.Close()
		return
	}
	f.mu.Lock()
	if !f.conns[in] { // cut meanwhile
		f.mu.Unlock()
		in.Close()
		out.Close()
		return
	}
	f.conns[out] = true
	f.carried++
	f.mu.Unlock()
	go func() { io.Copy(out, in); out.Close() }()
	io.Copy(in, out)
	in.Close()
	f.mu.Lock()
	delete(f.conns, in)
	delete(f.conns, out)
	f.mu.Unlock()
}
