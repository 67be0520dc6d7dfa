package api_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/headend/headend/api"
)

// serve runs api.NewServer(h, o) on a loopback listener limited to max
// connections a client, until the test ends.
func serve(t *testing.T, h http.Handler, o api.ServerOptions, max int) (string, *api.PerClientListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pl := api.LimitPerClient(ln, max, nil)
	srv := api.NewServer(h, o)
	go srv.Serve(pl)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), pl
}

// get sends a keep-alive GET on c and reads the response.
func get(t *testing.T, c net.Conn, r *bufio.Reader) (*http.Response, error) {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(r, nil)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

// closedBy waits (at most 10 s) for the server to close c.
func closedBy(t *testing.T, c net.Conn, r *bufio.Reader) error {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := r.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("still open after 10s")
	}
	return nil
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })

func TestIdleKeepAliveClosed(t *testing.T) {
	addr, _ := serve(t, ok, api.ServerOptions{IdleTimeout: 100 * time.Millisecond}, 0)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if resp, err := get(t, c, r); err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("keep-alive GET: %v %v", resp, err)
	}
	if err := closedBy(t, c, r); err != nil {
		t.Fatalf("idle keep-alive connection: %v", err)
	}
}

func TestSlowBodyCutOff(t *testing.T) {
	read := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		read <- err
	})
	addr, _ := serve(t, h, api.ServerOptions{ReadTimeout: 300 * time.Millisecond}, 0)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	// a byte every 20 ms, as a slow client sends: 1000 bytes would take 20 s
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-read:
			if err == nil {
				t.Fatal("the handler read the whole slow body")
			}
			return
		case <-deadline:
			t.Fatal("a body sent a byte every 20 ms is still being read after 10 s")
		case <-tick.C:
			c.Write([]byte("x"))
		}
	}
}

func TestConnectionsPerClient(t *testing.T) {
	addr, pl := serve(t, ok, api.ServerOptions{}, 2)
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	c1, r1 := dial()
	c2, r2 := dial()
	for _, x := range []struct {
		c net.Conn
		r *bufio.Reader
	}{{c1, r1}, {c2, r2}} {
		if resp, err := get(t, x.c, x.r); err != nil || resp.StatusCode != 200 {
			t.Fatalf("connection within the limit: %v %v", resp, err)
		}
	}
	c3, r3 := dial()
	if resp, err := get(t, c3, r3); err == nil {
		t.Fatalf("third connection from one client answered %s, want it refused", resp.Status)
	}
	if pl.Refused() != 1 {
		t.Errorf("refused %d, want 1", pl.Refused())
	}
	// a place freed is a place again
	c1.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, r := dial()
		resp, err := get(t, c, r)
		if err == nil && resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection after one closed: %v", err)
		}
	}
}
