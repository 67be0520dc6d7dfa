package field

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/headend/headend/fieldops"
)

// ReadScanStream never panics: it returns a result, or an error.
func FuzzReadScanStream(f *testing.F) {
	f.Add("{\"done\":1,\"total\":2}\n{\"done\":2,\"total\":2}\n{\"result\":{\"probed\":2,\"found\":[]}}\n")
	f.Add("{\"result\":{\"probed\":1,\"found\":[{\"address\":\"000000000001\",\"edition\":\"1997\"}]},\"error\":\"x\",\"kind\":\"no_answer\",\"status\":504}\n")
	f.Add("{\"done\":1}\n")
	f.Add("\n\n{}")
	f.Fuzz(func(t *testing.T, in string) {
		last := -1
		res, err := ReadScanStream(strings.NewReader(in), func(done, total int) { last = done })
		if err == nil && res == nil {
			t.Fatalf("no result and no error (last progress %d)", last)
		}
	})
}

// A request body is decoded, or answered 400 naming what is wrong.
func FuzzRequestBody(f *testing.F) {
	f.Add(`{"action":"trip","password":"000000","operator":"1"}`)
	f.Add(`{"action":1}`)
	f.Add(`{"until":"2025"}`)
	f.Add(`{} {}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		var rq fieldops.RelayRequest
		if decode(w, r, &rq) {
			if w.Code != http.StatusOK {
				t.Fatalf("decoded, yet answered %d", w.Code)
			}
			return
		}
		var p Problem
		if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &p) != nil || p.Param == "" || p.Kind != KindBadRequest {
			t.Fatalf("%q: %d %s", body, w.Code, w.Body)
		}
		var pe *fieldops.ParamError
		if !errors.As(errorOf(p, w.Code), &pe) || pe.Param != p.Param {
			t.Fatalf("%q: the client reads %+v back as %v", body, p, errorOf(p, w.Code))
		}
	})
}
