package simulator

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A far end stopped over HTTP refuses connections, comes back at the same
// address, and every answered read is counted under its meter.
func TestDownUpAndCounts(t *testing.T) {
	headEnd, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer headEnd.Close()
	sim := startAccess(t, headEnd.Addr().String())
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	post := func(path string, want int) {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %s, want %d", path, resp.Status, want)
		}
	}
	deadline := time.Now().Add(20 * time.Second) // failure guard only
	for _, id := range []string{"CTCP", "CMBT"} {
		addr := endpoint(t, sim, id).Address
		post("/endpoints/"+id+"/down", http.StatusNoContent)
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Fatalf("%s down: %s still accepts connections", id, addr)
		}
		post("/endpoints/"+id+"/up", http.StatusNoContent)
		if got := endpoint(t, sim, id).Address; got != addr {
			t.Fatalf("%s up at %s, was %s", id, got, addr)
		}
	}
	post("/endpoints/NOPE/down", http.StatusNotFound)

	e := endpoint(t, sim, "CTCP")
	c, err := net.Dial("tcp", e.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(deadline)
	read645(t, c, e.Meters[0], 0x00010000)
	read645(t, c, e.Meters[0], 0x00010000)

	resp, err := http.Get(srv.URL + "/counts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var counts []MeterCount
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, m := range counts {
		got[m.Meter] = m.Answered
		if len(m.Answers) != m.Answered {
			t.Errorf("%s: %d answers listed, %d counted", m.Meter, len(m.Answers), m.Answered)
		}
	}
	if got[e.Meters[0]] != 2 || len(got) != 1 {
		t.Errorf("counts %v, want %s: 2", got, e.Meters[0])
	}
}
