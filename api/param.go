// Package api is the head-end's HTTP API: shared helpers for its parts
// (api/loss for analysts, api/billing for billing systems, api/field for
// metering staff), which read what the analysis stored and never touch
// the collector's transports.
package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error writes a JSON error.
func Error(w http.ResponseWriter, status int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf(format, args...)})
}

// JSON writes v as JSON.
func JSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	enc.Encode(v)
}

// BadParam is a malformed query parameter.
type BadParam struct {
	Name, Value, Want string
}

func (e *BadParam) Error() string {
	return fmt.Sprintf("%s: %q is not %s", e.Name, e.Value, e.Want)
}

// Date reads a YYYY-MM-DD parameter as 00:00 in loc; def when absent.
func Date(r *http.Request, name string, loc *time.Location, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, v, loc)
	if err != nil {
		return t, &BadParam{name, v, "a date (want YYYY-MM-DD)"}
	}
	return t, nil
}

// Int reads an integer parameter within [lo, hi]; def when absent.
func Int(r *http.Request, name string, lo, hi, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, &BadParam{name, v, fmt.Sprintf("an integer from %d to %d", lo, hi)}
	}
	return n, nil
}

// OneOf reads a parameter that must be one of the choices ("" allowed
// when absent).
func OneOf(r *http.Request, name string, choices ...string) (string, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return "", nil
	}
	for _, c := range choices {
		if v == c {
			return v, nil
		}
	}
	return "", &BadParam{name, v, fmt.Sprintf("one of %v", choices)}
}

// Span reads the parameters from and to, days with to included: by
// default the week ending yesterday (today is 00:00 of the head-end's
// day). It refuses a span that ends before it starts or is longer than
// ten years.
func Span(r *http.Request, loc *time.Location, today time.Time) (from, to time.Time, err error) {
	to, err = Date(r, "to", loc, today.AddDate(0, 0, -1))
	if err == nil {
		from, err = Date(r, "from", loc, to.AddDate(0, 0, -6))
	}
	if err == nil && to.Before(from) {
		err = &BadParam{Name: "to", Value: r.URL.Query().Get("to"), Want: "on or after from"}
	}
	if err == nil && to.Sub(from) > 3660*24*time.Hour {
		err = &BadParam{Name: "from", Value: r.URL.Query().Get("from"), Want: "within 10 years of to"}
	}
	return from, to, err
}
