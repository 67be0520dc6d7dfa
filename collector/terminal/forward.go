package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/protocol/gdw3761"
)

// Link is a link.Link that carries each DL/T 645 frame through a terminal
// by AFN 10 F1 transparent forwarding, so that collector/master polls the
// meters behind a terminal as it polls any bus. Send makes the whole
// exchange; Receive returns the meter's answer the terminal sent back.
type Link struct {
	Session *Session
	// Port is the terminal's port the meters are on; 0 is 2 (the first
	// RS-485 port of most concentrators; 31 is often power-line carrier).
	Port uint8
	// Serial is the port's setting; 0 is 2400 baud 8E1.
	Serial gdw3761.SerialControl
	// FrameTimeout is how long the terminal waits for the meter; 0 is 2 s.
	// ByteTimeout is the longest gap inside its answer; 0 is 500 ms.
	FrameTimeout, ByteTimeout time.Duration
	// RoundTrip is what the wide-area link adds to FrameTimeout for the
	// whole exchange; 0 is 10 s.
	RoundTrip time.Duration
	// PW is the password field of the forwarding request.
	PW [16]byte

	mu    sync.Mutex
	reply []byte
	err   error
	ready bool
}

var _ link.Link = (*Link)(nil)

func (l *Link) request(frame []byte) gdw3761.ForwardRequest {
	r := gdw3761.ForwardRequest{Port: l.Port, Serial: l.Serial, FrameTimeout: l.FrameTimeout, ByteTimeout: l.ByteTimeout, Data: frame}
	if r.Port == 0 {
		r.Port = 2
	}
	if r.Serial == 0 {
		r.Serial, _ = gdw3761.MakeSerialControl(2400, 'E', 8, 1)
	}
	if r.FrameTimeout == 0 {
		r.FrameTimeout = 2 * time.Second
	}
	if r.ByteTimeout == 0 {
		r.ByteTimeout = 500 * time.Millisecond
	}
	return r
}

// Send forwards frame and waits for the terminal's answer.
func (l *Link) Send(ctx context.Context, frame []byte) error {
	fr := l.request(frame)
	req, err := gdw3761.Forward(l.Session.Address(), 0, l.PW, &fr)
	if err != nil {
		return err
	}
	rt := l.RoundTrip
	if rt <= 0 {
		rt = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, fr.FrameTimeout+rt)
	defer cancel()
	frames, err := l.Session.Exchange(ctx, &req)
	var reply []byte
	if err == nil {
		reply, err = forwarded(frames)
	}
	l.mu.Lock()
	l.reply, l.err, l.ready = reply, err, true
	l.mu.Unlock()
	if errors.Is(err, ErrOffline) {
		return fmt.Errorf("%w: %w", link.ErrOffline, err)
	}
	return nil
}

// forwarded returns the 645 bytes of an AFN 10 F1 reply, from the first
// 68, or nil when the meter did not answer.
func forwarded(frames []gdw3761.Frame) ([]byte, error) {
	var out []byte
	for i := range frames {
		f := &frames[i]
		if f.AFN == gdw3761.AFNConfirm {
			if err := gdw3761.Acknowledged(f); err != nil {
				return nil, err
			}
			continue
		}
		us, err := f.Units(nil)
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			if u.Fn != 1 || f.AFN != gdw3761.AFNTransfer {
				continue
			}
			var r gdw3761.ForwardReply
			if err := r.UnmarshalUnit(u.Data); err != nil {
				return nil, err
			}
			out = append(out, r.Data...)
		}
	}
	if i := bytes.IndexByte(out, 0x68); i >= 0 {
		return out[i:], nil
	}
	return nil, nil
}

// Receive returns the meter's answer to the frame last sent, once.
func (l *Link) Receive(ctx context.Context, deadline time.Time) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ready {
		return nil, link.ErrTimeout
	}
	l.ready = false
	switch {
	case errors.Is(l.err, ErrTimeout):
		return nil, fmt.Errorf("%w: %w", link.ErrTimeout, l.err)
	case l.err != nil:
		return nil, fmt.Errorf("%w: %w", link.ErrOffline, l.err)
	case l.reply == nil:
		return nil, fmt.Errorf("%w: the meter did not answer terminal %s", link.ErrTimeout, l.Session.ID())
	}
	return l.reply, nil
}

// Discard drops an answer not yet received.
func (l *Link) Discard() {
	l.mu.Lock()
	l.ready, l.reply, l.err = false, nil, nil
	l.mu.Unlock()
}

// State is the terminal's connection state.
func (l *Link) State() link.State {
	st := l.Session.Status()
	return link.State{Online: st.Online, Since: st.Since, LastSeen: st.LastHeard, Err: st.Err}
}

// Close does nothing: the session belongs to the listener.
func (l *Link) Close() error { return nil }
