package api

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ServerOptions bound what one client may hold of the API server. A zero
// duration is the default given with it.
type ServerOptions struct {
	ReadHeaderTimeout time.Duration // to send a request's headers (5s)
	ReadTimeout       time.Duration // to send a whole request, body included (30s)
	WriteTimeout      time.Duration // to write a response (5m: long CSV exports)
	IdleTimeout       time.Duration // an idle keep-alive connection is closed after it (2m)
	Logger            *slog.Logger  // refused connections, rate-limited; nil discards
}

// NewServer returns an http.Server for h with the options' timeouts.
func NewServer(h http.Handler, o ServerOptions) *http.Server {
	or := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: or(o.ReadHeaderTimeout, 5*time.Second),
		ReadTimeout:       or(o.ReadTimeout, 30*time.Second),
		WriteTimeout:      or(o.WriteTimeout, 5*time.Minute),
		IdleTimeout:       or(o.IdleTimeout, 2*time.Minute),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger(o.Logger).Handler(), slog.LevelDebug),
	}
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// PerClientListener is a listener that holds at most Max connections
// from one client address (IP) at once: a connection beyond that is
// closed as soon as it is accepted, and counted. Max 0 is no limit.
type PerClientListener struct {
	net.Listener
	Max    int
	Logger *slog.Logger // a refused connection, at most one line a minute

	mu      sync.Mutex
	open    map[string]int
	refused atomic.Uint64
	logged  time.Time
	quiet   uint64 // refusals since the last line
}

// LimitPerClient wraps ln so that one client address holds at most max
// connections.
func LimitPerClient(ln net.Listener, max int, log *slog.Logger) *PerClientListener {
	return &PerClientListener{Listener: ln, Max: max, Logger: log}
}

// Refused is the number of connections refused for the limit.
func (l *PerClientListener) Refused() uint64 { return l.refused.Load() }

// Accept returns the next connection within the limit.
func (l *PerClientListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || l.Max <= 0 {
			return c, err
		}
		ip := c.RemoteAddr().String()
		if h, _, err := net.SplitHostPort(ip); err == nil {
			ip = h
		}
		l.mu.Lock()
		if l.open == nil {
			l.open = map[string]int{}
		}
		if l.open[ip] >= l.Max {
			l.refused.Add(1)
			l.quiet++
			var n uint64
			if now := time.Now(); now.Sub(l.logged) >= time.Minute {
				l.logged, n, l.quiet = now, l.quiet, 0
			}
			l.mu.Unlock()
			c.Close()
			if n > 0 {
				logger(l.Logger).Warn("http: connections refused: too many from one client", "client", ip,
					"max_conns_per_client", l.Max, "refused", n, "refused_total", l.refused.Load())
			}
			continue
		}
		l.open[ip]++
		l.mu.Unlock()
		return &clientConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *PerClientListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

// clientConn gives its place back once, when closed.
type clientConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *clientConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
