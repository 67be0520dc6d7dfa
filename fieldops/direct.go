package fieldops

import (
	"context"
	"fmt"

	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/protocol/dlt645"
)

// Direct does the field operations over a master of its own: a serial
// port or serial server the caller opened (headend read --port), with
// every meter addressed taken to speak Edition. It is safe for one
// operation at a time.
type Direct struct {
	Master  *master.Master
	Edition dlt645.Edition
	Channel string // the bus's name in results and messages; may be empty
	Options
}

func (d *Direct) session() *session {
	return &session{m: d.Master, ed: d.Edition, channel: d.Channel, o: &d.Options}
}

// ReadMeter reads items (see ParseItems; none: the instantaneous set)
// from meter.
func (d *Direct) ReadMeter(ctx context.Context, meter string, items []string) (*Reading, error) {
	n, _, err := parseMeter("meter", meter)
	if err != nil {
		return nil, err
	}
	dis, err := ParseItems(d.Edition, "di", items)
	if err != nil {
		return nil, err
	}
	return d.session().read(ctx, n, dis)
}

// ReadClock reads meter's clock and compares it with the head-end's.
func (d *Direct) ReadClock(ctx context.Context, meter string) (*ClockReading, error) {
	n, addr, err := parseMeter("meter", meter)
	if err != nil {
		return nil, err
	}
	return d.session().clock(ctx, n, addr)
}

// SyncClock sets meter's clock to the head-end's: by broadcast time sync
// (which every meter on the bus obeys) when its drift is within ±5
// minutes and it is not near midnight, or by an authorised write when
// rq.Write. It reads the clock back to say whether it took. Audited.
func (d *Direct) SyncClock(ctx context.Context, meter string, rq SyncRequest) (res *ClockSync, err error) {
	n, addr, err := parseMeter("meter", meter)
	if err != nil {
		return nil, err
	}
	defer func() { d.auditSync(ctx, n, d.Channel, d.Edition, rq, res, err) }()
	auth, err := syncAuthority(rq)
	if err != nil {
		return nil, err
	}
	if err := d.guard(ctx, syncAction(rq), n, syncDetail(d.Channel, d.Edition, rq)); err != nil {
		return nil, err
	}
	return d.session().syncClock(ctx, n, addr, rq, auth)
}

// syncAuthority checks the authority of a clock write.
func syncAuthority(rq SyncRequest) (*dlt645.Auth, error) {
	if !rq.Write {
		return nil, nil
	}
	a, err := ParseAuthority(rq.Password, rq.Level, rq.Operator)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

func syncAction(rq SyncRequest) string {
	if rq.Write {
		return "clock.write"
	}
	return "clock.sync"
}

// syncDetail is what the audit records of a clock sync: never the password.
func syncDetail(channel string, ed dlt645.Edition, rq SyncRequest) map[string]any {
	detail := map[string]any{"edition": ed.String()}
	if rq.Write {
		detail["operator"] = rq.Operator
	}
	if channel != "" {
		detail["channel"] = channel
	}
	if rq.Force {
		detail["force"] = true
	}
	return detail
}

func (o *Options) auditSync(ctx context.Context, meter, channel string, ed dlt645.Edition, rq SyncRequest, res *ClockSync, err error) {
	action, detail := syncAction(rq), syncDetail(channel, ed, rq)
	if res != nil {
		detail["method"] = res.Method
		detail["error_before_s"] = res.Before.ErrorSeconds
		if res.After != nil {
			detail["error_after_s"] = res.After.ErrorSeconds
		}
		detail["corrected"] = res.Corrected
	}
	o.audit(ctx, action, meter, detail, err)
}

// Scan looks for meters on the bus (channel, if given, must be the
// Direct's). progress, if set, is called after each address.
func (d *Direct) Scan(ctx context.Context, channel string, rq ScanRequest, progress func(done, total int)) (*ScanResult, error) {
	if channel != "" && d.Channel != "" && channel != d.Channel {
		return nil, fmt.Errorf("%w: %q (this bus is %s)", ErrUnknownChannel, channel, d.Channel)
	}
	p, err := d.checkScan(rq)
	if err != nil {
		return nil, err
	}
	return d.session().scan(ctx, p, progress, rq.Progress)
}

// Relay trips or closes meter's supply relay. It refuses a request
// without password or operator code before anything goes on the wire.
// Audited, refusals included.
func (d *Direct) Relay(ctx context.Context, meter string, rq RelayRequest) (res *RelayResult, err error) {
	n, addr, err := parseMeter("meter", meter)
	if err != nil {
		return nil, err
	}
	defer func() { d.auditRelay(ctx, n, d.Channel, d.Edition, rq, res, err) }()
	p, err := d.checkRelay(d.Edition, rq)
	if err != nil {
		return nil, err
	}
	if err := d.guard(ctx, relayAction(rq), n, relayDetail(rq, d.Channel, d.Edition)); err != nil {
		return nil, err
	}
	return d.session().relay(ctx, n, addr, p)
}

func (o *Options) auditRelay(ctx context.Context, meter, channel string, ed dlt645.Edition, rq RelayRequest, res *RelayResult, err error) {
	detail := relayDetail(rq, channel, ed)
	if res != nil && res.State != "" {
		detail["state"] = res.State
	}
	o.audit(ctx, relayAction(rq), meter, detail, err)
}

// Status is not known without the collector.
func (d *Direct) Status(context.Context) (*Status, error) {
	return nil, fmt.Errorf("%w: the status of channels and areas comes from the running collector", ErrUnsupported)
}
