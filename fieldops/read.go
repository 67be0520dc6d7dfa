package fieldops

import (
	"context"
	"errors"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// Reading is the answer of an on-demand read.
type Reading struct {
	Meter   string         `json:"meter"`
	Edition dlt645.Edition `json:"edition"`
	Channel string         `json:"channel,omitempty"`
	Area    string         `json:"area,omitempty"`
	At      time.Time      `json:"at"` // head-end time of the last reply
	Values  []Value        `json:"values"`
}

// Value is one quantity a meter gave, or failed to give.
type Value struct {
	DI       string       `json:"di"`
	Quantity string       `json:"quantity"`
	Value    string       `json:"value,omitempty"` // an exact decimal, or text (times, addresses, status words)
	Unit     string       `json:"unit,omitempty"`
	Status   meter.Status `json:"status"`
	Error    string       `json:"error,omitempty"`
}

// parseMeter checks a meter address (leading zeros may be missing).
func parseMeter(param, s string) (string, dlt645.Address, error) {
	n, err := archive.NormalizeAddress(s)
	if err != nil {
		return "", dlt645.Address{}, badParam(param, "%v", err)
	}
	a, _ := dlt645.ParseAddress(n)
	return n, a, nil
}

// read reads dis from meter. A request the meter does not answer ends the
// read with an error when it is the first (the meter is not there);
// later ones become failed values.
func (s *session) read(ctx context.Context, meterID string, dis []dlt645.DI) (*Reading, error) {
	out := &Reading{Meter: meterID, Edition: s.ed, Channel: s.channel, Values: []Value{}}
	proto := poll.DLT645{Master: s.m, Now: s.o.now}
	target := poll.Target{Address: meterID, Edition: s.ed}
	answered := false
	for _, di := range dis {
		base := meter.Read{Meter: meterID, Channel: s.channel, Class: meter.OnDemand, DI: di, Edition: s.ed, Quantity: poll.Asked(s.ed, di)}
		var reads []meter.Read
		var err error
		for try := 0; try <= s.o.retries(); try++ {
			if err = s.pace(ctx); err != nil {
				return out, err
			}
			reads, err = proto.Do(ctx, target, poll.Request{DI: di}, base)
			if err == nil || !retryable(err) || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			err = s.failure(meterID, err)
			if !answered || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return out, err
			}
			out.Values = append(out.Values, Value{DI: di.Format(s.ed), Quantity: base.Quantity, Status: meter.Failed, Error: err.Error()})
			continue
		}
		answered = true
		for _, r := range reads {
			out.Values = append(out.Values, valueOf(s.ed, &r))
			out.At = r.ReadAt
		}
	}
	return out, nil
}

func valueOf(ed dlt645.Edition, r *meter.Read) Value {
	v := Value{DI: r.DI.Format(ed), Quantity: r.Quantity, Unit: r.Unit, Status: r.Status, Error: r.Err}
	if r.Status == meter.OK {
		v.Value = r.Text
		if r.Text == "" {
			v.Value = r.Value.String()
		}
	}
	return v
}
