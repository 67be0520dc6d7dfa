package assess

import (
	"bufio"
	"io"
)

// bomless drops a UTF-8 byte-order mark (spreadsheets write one).
func bomless(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	return br
}
