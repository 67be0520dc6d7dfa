package results

import (
	"encoding/json"
	"fmt"

	"github.com/headend/headend/store"
)

// Body encodes v as a record's body. It panics if v cannot be encoded as
// JSON: record bodies are the module's own types.
func Body(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("results: record body: " + err.Error())
	}
	return b
}

// Decode decodes r's body into v, naming the record on error.
func Decode(r store.Record, v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("record %s %q version %d: %w", r.Kind, r.Key, r.Version, err)
	}
	return nil
}
