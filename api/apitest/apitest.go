// Package apitest holds what the API packages' tests share: requests over
// real HTTP to a test server, checked for their status.
package apitest

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// Get requests url and fails the test unless the status is want; it
// decodes the JSON body into v when v is not nil and returns the body.
func Get(t testing.TB, url string, want int, v any) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d %s, want %d", url, resp.StatusCode, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, b)
		}
	}
	return string(b)
}
