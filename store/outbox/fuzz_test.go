package outbox

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the record and batch decoders: they
// must not panic, every error must be one of the typed reasons, and
// whatever decodes must re-encode to exactly the bytes it came from.
func FuzzDecode(f *testing.F) {
	for _, rs := range [][]byte{
		encodeRecord(appendBatch(nil, batch(1, 2))),
		encodeRecord(appendBatch(nil, oddReads())),
		encodeRecord(appendBatch(nil, nil)),
		encodeRecord([]byte("not a batch")),
		append(encodeRecord(appendBatch(nil, batch(2, 1))), 0, 0, 0),
		{},
		{0, 0, 0, 0, 0, 0, 0, 0},
	} {
		f.Add(rs)
		if len(rs) > 3 {
			f.Add(rs[:len(rs)-3])
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		payload, n, err := decodeRecord(in)
		if err != nil {
			if !errors.Is(err, errTorn) && !errors.Is(err, errLength) && !errors.Is(err, errChecksum) {
				t.Fatalf("untyped record error %v", err)
			}
			payload = in // try the batch decoder on the raw bytes instead
		} else if !bytes.Equal(encodeRecord(payload), in[:n]) {
			t.Fatalf("record re-encodes differently")
		}
		reads, err := decodeBatch(payload)
		if err != nil {
			if !errors.Is(err, errBadBatch) {
				t.Fatalf("untyped batch error %v", err)
			}
			return
		}
		if !bytes.Equal(appendBatch(nil, reads), payload) {
			t.Fatalf("batch re-encodes differently:\n in %x\nout %x", payload, appendBatch(nil, reads))
		}
	})
}
