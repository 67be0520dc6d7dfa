package poll

import (
	"context"
	"errors"
	"time"

	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/collector/read"
	"github.com/headend/headend/protocol/dlt645"
)

// DLT645 is the DL/T 645 protocol over a master.
type DLT645 struct {
	Master *master.Master
	Now    func() time.Time // nil: time.Now
}

// Do sends one read (or load-profile read) and decodes the answer.
func (p DLT645) Do(ctx context.Context, t Target, rq Request, base read.Read) ([]read.Read, error) {
	now := p.Now
	if now == nil {
		now = time.Now
	}
	if rq.TimeSync {
		at := now()
		f, err := t.Edition.BroadcastTimeRequest(dlt645.DateTimeOf(at, dlt645.YYMMDDhhmmss))
		if err != nil {
			return nil, err
		}
		wire, err := p.Master.Send(ctx, &f)
		if err != nil {
			return nil, err
		}
		base.Quantity, base.Status, base.ReadAt = "broadcast time sync", read.OK, at
		base.Text = at.Format("2006-01-02T15:04:05")
		base.Frame.Request = wire
		return []read.Read{base}, nil
	}
	addr, err := dlt645.ParseAddress(t.Address)
	if err != nil {
		base.Status, base.Err, base.ReadAt = read.Failed, err.Error(), now()
		return []read.Read{base}, nil // asking again will not help
	}
	var req dlt645.Frame
	if rq.Blocks > 0 {
		req, err = t.Edition.ReadProfileRequest(addr, rq.DI, rq.Blocks, rq.From)
	} else {
		req, err = t.Edition.ReadRequest(addr, rq.DI)
	}
	if err != nil {
		base.Status, base.Err, base.ReadAt = read.Failed, err.Error(), now()
		return []read.Read{base}, nil
	}
	var tx master.Transaction
	data, err := p.Master.ReadData(ctx, t.Edition, req, &tx)
	base.Frame.Request, base.Frame.Reply = tx.Request, tx.Replies
	base.ReadAt = now()
	var me *dlt645.MeterError
	switch {
	case err == nil:
		return values(t.Edition, rq, data, base), nil
	case errors.As(err, &me):
		// the meter answered: no point asking again
		base.Status, base.Err = read.Refused, me.Error()
		if me.NoData() {
			base.Status = read.NoData
		}
		return []read.Read{base}, nil
	}
	return nil, err
}

// values turns the value bytes of a reply into reads, one per value.
func values(ed dlt645.Edition, rq Request, data []byte, base read.Read) []read.Read {
	vals, err := ed.Registry().Decode(rq.DI, data, nil)
	if err != nil {
		base.Status, base.Err = read.Failed, err.Error()
		return []read.Read{base}
	}
	out := make([]read.Read, 0, len(vals))
	for i := range vals {
		v := &vals[i]
		r := base
		r.DI, r.Quantity, r.Unit, r.Status = v.DI, v.Name, v.Unit, read.OK
		switch {
		case v.NoData:
			r.Status = read.NoData
		case v.Kind == dlt645.KindNumber:
			r.Value = v.Number
		default:
			r.Text = v.String()
		}
		out = append(out, r)
	}
	return out
}
