package meterbus

import (
	"bytes"
	"hash/fnv"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// Answer is one read request a meter answered with a normal, undamaged
// reply: what a head-end that received it ought to have stored.
type Answer struct {
	At   time.Time // real time the reply left the bus
	Sim  time.Time // simulated time of the request
	Hash uint64    // ReplyHash of the reply frame
	DI   dlt645.DI // what was read (0 for Modbus)
}

// ReplyHash identifies a reply by its bytes: FNV-64a of the frame from its
// first 68H, any FE wake-up preamble left out, so that the hash of the
// frame a head-end stores with its reads is the hash the bus counted.
func ReplyHash(frame []byte) uint64 {
	frame = bytes.TrimLeft(frame, string([]byte{dlt645.Wake}))
	h := fnv.New64a()
	h.Write(frame)
	return h.Sum64()
}

// readTx is the transaction of a meter's last read request: where its
// answers start, whether its last part has been sent, whether a part was
// spoiled.
type readTx struct {
	start    int
	complete bool
	bad      bool
}

// count records an answered read (or read follow-up) of the meter at addr.
// Abnormal replies and replies the line damaged are not counted: a
// head-end stores no value from them. Nor is any part of a read whose
// reply spans several frames when one of them was damaged or the master
// never fetched the last: the head-end got no whole reply.
func (b *Bus) count(addr dlt645.Address, op dlt645.Op, di dlt645.DI, reply *dlt645.Frame, wire []byte, damaged bool, now time.Time) {
	if op != dlt645.OpRead && op != dlt645.OpReadFollowUp {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.answers == nil {
		b.answers, b.tx = map[string][]Answer{}, map[string]*readTx{}
	}
	k := addr.String()
	tx := b.tx[k]
	if op == dlt645.OpRead {
		if tx != nil && !tx.complete {
			b.answers[k] = b.answers[k][:tx.start]
		}
		tx = &readTx{start: len(b.answers[k])}
		b.tx[k] = tx
	} else if tx == nil {
		return
	}
	if damaged || reply.Control.Abnormal() {
		tx.bad = true
		b.answers[k] = b.answers[k][:tx.start]
	}
	if !reply.Control.More() {
		tx.complete = true
	}
	if tx.bad {
		return
	}
	b.answers[k] = append(b.answers[k], Answer{At: time.Now(), Sim: now, Hash: ReplyHash(wire), DI: di})
}

// Answers returns the answered read requests of each meter so far, by
// meter address, oldest first.
func (b *Bus) Answers() map[string][]Answer {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string][]Answer, len(b.answers))
	for k, v := range b.answers {
		out[k] = append([]Answer(nil), v...)
	}
	return out
}
