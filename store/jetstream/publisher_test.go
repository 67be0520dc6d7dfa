package jetstream

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store/outbox"
)

// TestMessages splits a batch by MessageReads and by bytes, and gives the
// same reads the same ids.
func TestMessages(t *testing.T) {
	o := Options{Node: "node-a", MessageReads: 100}.withDefaults()
	rs := testBatch(7, 250)
	msgs := messages(o, rs, 1<<20)
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3 (100+100+50)", len(msgs))
	}
	small := messages(o, rs, 4000) // a read encodes to about 70 bytes
	if len(small) <= 3 {
		t.Fatalf("%d messages under a 4000-byte limit, want more than 3", len(small))
	}
	for _, split := range [][]*nats.Msg{msgs, small} {
		var got []meter.Read
		ids := map[string]bool{}
		for _, m := range split {
			if m.Subject != "headend.reads.node-a" {
				t.Fatalf("subject %q", m.Subject)
			}
			if len(split) == len(small) && len(m.Data) > 4000 {
				t.Fatalf("message of %d bytes past the limit", len(m.Data))
			}
			id := m.Header.Get(jetstream.MsgIDHeader)
			if !strings.HasPrefix(id, "node-a-") || ids[id] {
				t.Fatalf("id %q: want node-a-<hash>, distinct", id)
			}
			ids[id] = true
			b, err := outbox.DecodeBatch(m.Data)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b...)
		}
		if len(got) != len(rs) || !reflect.DeepEqual(outbox.EncodeBatch(got), outbox.EncodeBatch(rs)) {
			t.Fatalf("the messages hold %d reads, not the %d written", len(got), len(rs))
		}
	}
	again := messages(o, testBatch(7, 250), 1<<20)
	for i := range msgs {
		if a, b := msgs[i].Header.Get(jetstream.MsgIDHeader), again[i].Header.Get(jetstream.MsgIDHeader); a != b {
			t.Fatalf("message %d: id %s, then %s for the same reads", i, a, b)
		}
	}
	other := messages(Options{Node: "node-b", MessageReads: 100}.withDefaults(), rs, 1<<20)
	if other[0].Header.Get(jetstream.MsgIDHeader) == msgs[0].Header.Get(jetstream.MsgIDHeader) {
		t.Fatal("two nodes give the same id")
	}
}

func TestOptions(t *testing.T) {
	o := Options{}.withDefaults()
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	if o.Stream != DefaultStream || o.Replicas != 3 || o.Durable != DefaultDurable || o.Node == "" {
		t.Fatalf("defaults %+v", o)
	}
	c := StreamConfig(Options{})
	if c.Retention != jetstream.WorkQueuePolicy || c.Discard != jetstream.DiscardNew || c.Storage != jetstream.FileStorage || c.Subjects[0] != "headend.reads.>" {
		t.Fatalf("stream config %+v", c)
	}
	for _, bad := range []Options{{Stream: "a.b"}, {Node: "x*"}, {Subject: "a..b"}, {Durable: "d e"}, {Subject: "a.>"}} {
		if err := bad.withDefaults().check(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	s := Settings{URLs: []string{"nats://h:4222"}, Replicas: 5, Writer: true}
	if o := s.Options("n1"); o.Node != "n1" || o.Replicas != 5 || o.URLs[0] != "nats://h:4222" {
		t.Fatalf("Settings.Options: %+v", o)
	}
}
