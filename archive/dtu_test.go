package archive_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/headend/headend/archive"
	"go.yaml.in/yaml/v3"
)

func TestChannelDTUPackets(t *testing.T) {
	var c archive.Channel
	src := "{id: d1, kind: dialin, dialin_id: C1, register_hex: '38 36 30 31', heartbeat_packet: PING}"
	if err := yaml.Unmarshal([]byte(src), &c); err != nil {
		t.Fatal(err)
	}
	p, err := c.DTUPackets()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Register, []byte("8601")) || string(p.Heartbeat) != "PING" {
		t.Errorf("packets % X / %q", p.Register, p.Heartbeat)
	}
	c = archive.Channel{ID: "d1", Kind: archive.KindDialIn, DialInID: "C1"}
	if p, err := c.DTUPackets(); err != nil || string(p.Register) != "REG C1\r\n" {
		t.Errorf("default packets %q, %v", p.Register, err)
	}
	a := &archive.Archive{Channels: []archive.Channel{{ID: "d1", Kind: archive.KindDialIn, DialInID: "C1", RegisterHex: "XYZ"}}}
	if err := a.Validate(); err == nil || !strings.Contains(err.Error(), "register_hex") || !strings.Contains(err.Error(), "d1") {
		t.Errorf("Validate = %v, want an error naming d1 and register_hex", err)
	}
}
