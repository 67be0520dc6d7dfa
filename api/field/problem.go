package field

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/headend/headend/fieldops"
)

// Problem is the body of an error answer (and the error of a scan's last
// line).
type Problem struct {
	Error  string `json:"error,omitempty"`
	Kind   string `json:"kind,omitempty"`   // one of the Kind constants
	Param  string `json:"param,omitempty"`  // the bad parameter, for bad_request
	Status int    `json:"status,omitempty"` // the HTTP status
}

// Problem kinds, one per error of fieldops.
const (
	KindBadRequest     = "bad_request"
	KindUnknownMeter   = "unknown_meter"
	KindUnknownChannel = "unknown_channel"
	KindNoAnswer       = "no_answer"
	KindBadAnswer      = "bad_answer"
	KindRefused        = "refused"
	KindNotAllowed     = "not_allowed"
	KindUnsupported    = "unsupported"
	KindUnavailable    = "unavailable"
	KindTimeout        = "timeout"
	KindInternal       = "internal"
)

// kinds maps each kind to its error and HTTP status.
var kinds = []struct {
	kind   string
	err    error
	status int
}{
	{KindUnknownMeter, fieldops.ErrUnknownMeter, http.StatusNotFound},
	{KindUnknownChannel, fieldops.ErrUnknownChannel, http.StatusNotFound},
	{KindNoAnswer, fieldops.ErrNoAnswer, http.StatusGatewayTimeout},
	{KindBadAnswer, fieldops.ErrBadAnswer, http.StatusBadGateway},
	{KindRefused, fieldops.ErrRefused, http.StatusUnprocessableEntity},
	{KindNotAllowed, fieldops.ErrNotAllowed, http.StatusConflict},
	{KindUnsupported, fieldops.ErrUnsupported, http.StatusUnprocessableEntity},
	{KindUnavailable, fieldops.ErrUnavailable, http.StatusServiceUnavailable},
	{KindTimeout, context.DeadlineExceeded, http.StatusGatewayTimeout},
}

// problemOf says what err means for the client; Status 0 means the client
// went away and nothing should be written.
func problemOf(err error) Problem {
	var pe *fieldops.ParamError
	if errors.As(err, &pe) {
		p := *pe
		if p.Param == "meter" {
			p.Param = "addr" // the path says addr
		}
		return Problem{Error: p.Error(), Kind: KindBadRequest, Param: p.Param, Status: http.StatusBadRequest}
	}
	if errors.Is(err, context.Canceled) {
		return Problem{}
	}
	msg := strings.TrimPrefix(err.Error(), "collector: ")
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return Problem{Error: msg, Kind: k.kind, Status: k.status}
		}
	}
	return Problem{Error: msg, Kind: KindInternal, Status: http.StatusInternalServerError}
}

// errorOf turns a problem from the server back into an error that
// errors.Is matches with fieldops's errors.
func errorOf(p Problem, status int) error {
	if p.Kind == KindBadRequest || (p.Kind == "" && status == http.StatusBadRequest) {
		reason := strings.TrimPrefix(p.Error, p.Param+": ")
		return &fieldops.ParamError{Param: p.Param, Reason: reason}
	}
	e := &RemoteError{Status: status, Kind: p.Kind, Msg: p.Error}
	for _, k := range kinds {
		if k.kind == p.Kind {
			e.err = k.err
		}
	}
	return e
}

// RemoteError is an error the server answered with.
type RemoteError struct {
	Status int
	Kind   string
	Msg    string
	err    error // the fieldops error of Kind
}

func (e *RemoteError) Error() string {
	if e.Msg == "" {
		return http.StatusText(e.Status)
	}
	return e.Msg
}

// Unwrap returns the fieldops error of the problem's kind.
func (e *RemoteError) Unwrap() error { return e.err }
