package field

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/headend/headend/fieldops"
)

// Client is a Service over HTTP: the field routes of a running headend
// serve (headend read --server ...). Errors match fieldops's with
// errors.Is, and a bad parameter is a *field.ParamError, as in-process.
type Client struct {
	URL   string // e.g. http://127.0.0.1:8080
	Token string // sent as "Authorization: Bearer"; never in an error
	// HTTP is the client to use; nil is http.DefaultClient. Scans last
	// long: bound them with the context, not a client timeout.
	HTTP *http.Client
}

func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	base := strings.TrimSuffix(c.URL, "/")
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("--server %s: %w", c.URL, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: %s %s: %w", fieldops.ErrUnavailable, method, base+path, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, c.problem(resp)
	}
	return resp, nil
}

// problem reads an error answer.
func (c *Client) problem(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var p Problem
	if json.Unmarshal(b, &p) != nil || p.Error == "" {
		msg := strings.TrimSpace(string(b))
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			msg = fmt.Sprintf("%s: the server refused the token (give --token, HEADEND_TOKEN or --token-file, with the operator role for control actions)", resp.Status)
		case http.StatusNotFound, http.StatusMethodNotAllowed:
			msg = fmt.Sprintf("%s: %s serves no field API here (is it headend serve with the field routes?)", resp.Status, c.URL)
		default:
			msg = resp.Status + ": " + msg
		}
		return &RemoteError{Status: resp.StatusCode, Msg: msg}
	}
	return errorOf(p, resp.StatusCode)
}

func getJSON[T any](c *Client, ctx context.Context, method, path string, body any) (*T, error) {
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var v T
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, fmt.Errorf("%s %s: bad answer: %w", method, path, err)
	}
	return &v, nil
}

func meterPath(meter, rest string) string {
	return "/api/v1/meters/" + url.PathEscape(meter) + rest
}

// ReadMeter asks the daemon to read a meter.
func (c *Client) ReadMeter(ctx context.Context, meter string, items []string) (*fieldops.Reading, error) {
	return getJSON[fieldops.Reading](c, ctx, http.MethodPost, meterPath(meter, "/read"), ReadRequest{DI: items})
}

// ReadClock asks for a meter's clock.
func (c *Client) ReadClock(ctx context.Context, meter string) (*fieldops.ClockReading, error) {
	return getJSON[fieldops.ClockReading](c, ctx, http.MethodGet, meterPath(meter, "/time"), nil)
}

// SyncClock asks the daemon to set a meter's clock.
func (c *Client) SyncClock(ctx context.Context, meter string, rq fieldops.SyncRequest) (*fieldops.ClockSync, error) {
	return getJSON[fieldops.ClockSync](c, ctx, http.MethodPost, meterPath(meter, "/time/sync"), rq)
}

// Relay asks the daemon to trip or close a meter's relay.
func (c *Client) Relay(ctx context.Context, meter string, rq fieldops.RelayRequest) (*fieldops.RelayResult, error) {
	return getJSON[fieldops.RelayResult](c, ctx, http.MethodPost, meterPath(meter, "/relay"), rq)
}

// Status asks for the field status.
func (c *Client) Status(ctx context.Context) (*fieldops.Status, error) {
	return getJSON[fieldops.Status](c, ctx, http.MethodGet, "/api/v1/status/field", nil)
}

// Scan asks the daemon to scan a bus, calling progress for each line of
// progress it streams.
func (c *Client) Scan(ctx context.Context, channel string, rq fieldops.ScanRequest, progress func(done, total int)) (*fieldops.ScanResult, error) {
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/buses/"+url.PathEscape(channel)+"/scan", rq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return ReadScanStream(resp.Body, progress)
}

// ReadScanStream reads a scan's NDJSON stream: progress lines, then the
// result (with the error that stopped the scan, if any).
func ReadScanStream(r io.Reader, progress func(done, total int)) (*fieldops.ScanResult, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var l struct {
			Done   *int                 `json:"done"`
			Total  *int                 `json:"total"`
			Result *fieldops.ScanResult `json:"result"`
			Problem
		}
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, fmt.Errorf("scan stream line %d: %w", n, err)
		}
		switch {
		case l.Done != nil && l.Total != nil:
			if progress != nil {
				progress(*l.Done, *l.Total)
			}
		case l.Error != "":
			return l.Result, errorOf(l.Problem, l.Status)
		case l.Result != nil:
			return l.Result, nil
		default:
			return nil, fmt.Errorf("scan stream line %d: neither progress nor a result", n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scan stream: %w", err)
	}
	return nil, errors.New("scan stream ended before the result (the server stopped?)")
}
