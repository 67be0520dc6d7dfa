package link

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/dtu"
)

// A DTU configured with its IMEI as hex registration and its own
// heartbeat (containing 68H) registers, its heartbeats are recognised and
// never reach the 645 stream, and a wrong registration is dropped and
// counted.
func TestDialInConfiguredPackets(t *testing.T) {
	imei, err := dtu.ConfigPackets("C1", "", "383630313233343536373839303132", "", "FE 68 AA 55")
	if err != nil {
		t.Fatal(err)
	}
	var reg dtu.Registry
	if err := reg.Add("C1", imei); err != nil {
		t.Fatal(err)
	}
	r := startListener(t, DialInConfig{Registry: func() *dtu.Registry { return &reg }})

	conn, err := net.Dial("tcp", r.l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frame, _ := (&dlt645.Frame{Address: dlt645.Address{1, 2, 3, 4, 5, 6}, Control: 0x91, Data: []byte{0, 0, 1, 0, 0x22}}).MarshalBinary()
	var out []byte
	out = append(out, imei.Register...)
	out = append(out, imei.Heartbeat...)
	out = append(out, frame...)
	out = append(out, imei.Heartbeat...)
	if _, err := conn.Write(out); err != nil {
		t.Fatal(err)
	}
	if e := r.next(t, EventRegistered); e.ID != "C1" {
		t.Fatalf("registered %q, want C1", e.ID)
	}
	r.next(t, EventHeartbeat)
	link := r.l.Link("C1")
	got, err := link.Receive(t.Context(), time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, frame) {
		t.Fatalf("received % X, want the frame % X", got, frame)
	}
	r.next(t, EventHeartbeat)
	if strings.Contains(r.log.String(), "3836303132") {
		t.Errorf("log carries the IMEI:\n%s", r.log.String())
	}

	bad, err := net.Dial("tcp", r.l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	bad.Write([]byte("REG C1\r\n")) // the default packet is not C1's any more
	r.next(t, EventDropped)
	if n := r.l.Dropped(); n != 1 {
		t.Errorf("Dropped() = %d, want 1", n)
	}
}

func TestConfigPacketsErrors(t *testing.T) {
	for _, c := range []struct{ reg, regHex, hb, hbHex, want string }{
		{"A", "41", "", "", "both set"},
		{"", "4G", "", "", "register_hex"},
		{"PING", "", "PING", "", "must differ"},
		{strings.Repeat("x", 300), "", "", "", "at most 256"},
	} {
		_, err := dtu.ConfigPackets("C1", c.reg, c.regHex, c.hb, c.hbHex)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ConfigPackets(%q, %q, %q, %q) = %v, want an error with %q", c.reg, c.regHex, c.hb, c.hbHex, err, c.want)
		}
	}
	if _, err := dtu.ConfigPackets("bad id", "", "", "", ""); err == nil {
		t.Error("a default packet for an invalid id was accepted")
	}
}

// The simulator's DTU sends its configured packets: the listener knows it
// by its IMEI, and its heartbeats never disturb a transaction.
func TestDialInSimulatedDTUConfiguredPackets(t *testing.T) {
	pk, err := dtu.ConfigPackets("C2", "", "383630313233343536373839303132", "HEART\x68BEAT", "")
	if err != nil {
		t.Fatal(err)
	}
	var reg dtu.Registry
	if err := reg.Add("C2", pk); err != nil {
		t.Fatal(err)
	}
	r := startListener(t, DialInConfig{Registry: func() *dtu.Registry { return &reg }})
	bus := newMeters(map[string][]byte{meterA: value1}).gate()
	c := dialInPackets(t, "C2", r.l.Addr().String(), bus, pk)
	if e := r.next(t, EventRegistered); e.ID != "C2" {
		t.Fatalf("registration event %+v", e)
	}
	link := r.l.Link("C2")
	if err := link.Send(t.Context(), readRequest(t, meterA)); err != nil {
		t.Fatal(err)
	}
	<-bus.arrived
	c.heartbeat(t)
	r.next(t, EventHeartbeat)
	bus.release <- struct{}{}
	raw, err := link.Receive(t.Context(), time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	checkReply(t, raw, meterA, value1)
}
