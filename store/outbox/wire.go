package outbox

import "github.com/headend/headend/meter"

// EncodeBatch returns the encoding of a batch that the outbox's records
// hold (see appendBatch in codec.go): exact and canonical, so that it
// also serves as a wire format (store/jetstream's messages) and the same
// reads always give the same bytes.
func EncodeBatch(reads []meter.Read) []byte { return appendBatch(nil, reads) }

// DecodeBatch decodes what EncodeBatch made; any other byte string is an
// error saying what is wrong with it.
func DecodeBatch(p []byte) ([]meter.Read, error) { return decodeBatch(p) }
