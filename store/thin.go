package store

import (
	"bytes"

	"github.com/headend/headend/meter"
)

// Thin returns reads without the NoData reads that tell nothing: of the
// reads of one transaction (consecutive reads of one meter that share
// their request frame and the time it was answered), all NoData, it keeps
// the first, so that the meter still counts as asked; of a transaction
// that also gave other reads, it drops the NoData ones (a load-profile
// record whose unused channels are EE filler). A read without a request
// frame is a transaction of its own and is kept. Thin returns reads itself
// when it drops nothing, and never modifies it.
func Thin(reads []meter.Read) []meter.Read {
	var out []meter.Read
	kept := 0 // reads[:kept] are what out would hold while nothing is dropped
	keep := func(k int) {
		if out == nil && k == kept {
			kept++
			return
		}
		if out == nil {
			out = append(make([]meter.Read, 0, len(reads)), reads[:kept]...)
		}
		out = append(out, reads[k])
	}
	for i := 0; i < len(reads); {
		j := i + 1
		for j < len(reads) && sameTransaction(&reads[i], &reads[j]) {
			j++
		}
		tx := reads[i:j]
		all := true
		for k := range tx {
			if tx[k].Status != meter.NoData {
				all = false
				break
			}
		}
		for k := range tx {
			if tx[k].Status != meter.NoData || (all && k == 0) {
				keep(i + k)
			}
		}
		i = j
	}
	if out == nil {
		return reads[:kept]
	}
	return out
}

// sameTransaction reports whether b came from the transaction of a.
func sameTransaction(a, b *meter.Read) bool {
	return len(a.Frame.Request) > 0 && a.Meter == b.Meter && a.ReadAt.Equal(b.ReadAt) &&
		bytes.Equal(a.Frame.Request, b.Frame.Request)
}
