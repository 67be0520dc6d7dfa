package meterbus

import (
	"context"
	"testing"

	"github.com/headend/headend/protocol/dlt645"
)

// FuzzExchange sends arbitrary bytes to a line of simulated meters: no
// panic, and whatever they answer is well-framed DL/T 645 (after any
// noise preamble) or a planted corruption.
func FuzzExchange(f *testing.F) {
	req, _ := dlt645.DLT2007.ReadRequest(dlt645.MustParseAddress("000001000014"), 0x0001FF00)
	b, _ := req.MarshalBinary()
	f.Add(b)
	prof, _ := dlt645.DLT2007.ReadProfileRequest(dlt645.MustParseAddress("000001000014"), 0x06000001, 20, dlt645.DateTime{Layout: dlt645.YYMMDDhhmm, Year: 2025, Month: 3, Day: 1})
	b, _ = prof.MarshalBinary()
	f.Add(b)
	r := newRig(f)
	r.at("2025-03-02 12:00")
	f.Fuzz(func(t *testing.T, in []byte) {
		reply := r.bus.Exchange(context.Background(), in)
		if reply == nil {
			return
		}
		var fr dlt645.Frame
		if _, err := fr.Decode(reply); err != nil {
			// only the meters with planted corruption answer badly
			for _, i := range []int{10, 12} {
				if fr.Address.String() == r.customer(i).Address {
					return
				}
			}
			var probe dlt645.Frame
			probe.Decode(in)
			if a := probe.Address.String(); a == r.customer(10).Address || a == r.customer(12).Address || probe.Address.HasWildcard() {
				return
			}
			t.Fatalf("reply % X to % X: %v", reply, in, err)
		}
	})
}
