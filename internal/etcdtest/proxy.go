package etcdtest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP relay on loopback in front of a server, whose link can be
// cut as a network partition cuts it: while partitioned, connections stay
// open but no byte crosses in either direction (what was sent waits, as in
// a TCP retransmission queue, and arrives after Heal).
type Proxy struct {
	Endpoint string // http://127.0.0.1:port, for a client

	ln     net.Listener
	target string

	mu      sync.Mutex
	cut     bool
	healed  *sync.Cond
	conns   map[net.Conn]bool
	closing bool
}

// NewProxy relays to s, closed at t's cleanup.
func NewProxy(t testing.TB, s *Server) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{
		Endpoint: "http://" + ln.Addr().String(),
		ln:       ln,
		target:   s.Endpoint[len("http://"):],
		conns:    map[net.Conn]bool{},
	}
	p.healed = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Partition cuts the link.
func (p *Proxy) Partition() {
	p.mu.Lock()
	p.cut = true
	p.mu.Unlock()
}

// Heal restores the link.
func (p *Proxy) Heal() {
	p.mu.Lock()
	p.cut = false
	p.healed.Broadcast()
	p.mu.Unlock()
}

// Close stops the proxy and its connections.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closing = true
	p.cut = false
	p.healed.Broadcast()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closing {
			p.mu.Unlock()
			c.Close()
			up.Close()
			return
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies src to dst, holding each chunk while the link is cut.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.cut {
				p.healed.Wait()
			}
			closing := p.closing
			p.mu.Unlock()
			if closing {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}
