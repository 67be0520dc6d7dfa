package auth

import (
	"log/slog"
)

// Replace resolves specs as New does and, if every one is usable, makes
// them the tokens t knows from the next request on: a token no longer
// among them is refused (401), as an unknown one. On an error t keeps the
// tokens it has. The refused count goes on.
func (t *Tokens) Replace(specs []TokenSpec, log *slog.Logger) error {
	n, err := New(specs, log)
	if err != nil {
		return err
	}
	t.set.Lock()
	t.entries = n.entries
	t.set.Unlock()
	return nil
}
