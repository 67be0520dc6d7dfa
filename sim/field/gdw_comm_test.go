package field_test

import (
	"testing"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// AFN 0A F1 reads the heartbeat period the terminal starts with; AFN 04
// F1 sets another, confirmed, read back, and the terminal makes its
// heartbeat ticker anew at it.
func TestTerminalHeartbeatSetAndReadBack(t *testing.T) {
	r := newTermRig(t)
	r.at("2025-03-01 12:00")
	r.run()
	m := r.accept()
	m.login()
	_, units := m.ask(gdw3761.ReadCommParams(termAddr, m.seq()), nil)
	var p gdw3761.CommParams
	if len(units) != 1 || units[0].Fn != 1 || p.UnmarshalUnit(units[0].Data) != nil || p.Heartbeat != time.Minute {
		t.Fatalf("0A F1 before: units %v, %+v; want the 45 s heartbeat as 1 min", units, p)
	}
	p.Heartbeat = 5 * time.Minute
	f, units := m.ask(gdw3761.WriteCommParams(termAddr, m.seq(), [16]byte{}, &p))
	if f.AFN != gdw3761.AFNConfirm || len(units) != 1 || units[0].Fn != 1 {
		t.Fatalf("04 F1 answered %v %v, want AFN 00 F1", f.AFN, units)
	}
	_, units = m.ask(gdw3761.ReadCommParams(termAddr, m.seq()), nil)
	var back gdw3761.CommParams
	if len(units) != 1 || back.UnmarshalUnit(units[0].Data) != nil || back != p {
		t.Fatalf("0A F1 after: %+v, want %+v", back, p)
	}
	if got := r.term.HeartbeatInterval(); got != 5*time.Minute {
		t.Errorf("heartbeat interval %v, want 5m", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		iv := append([]time.Duration(nil), r.intervals...)
		r.mu.Unlock()
		if len(iv) == 2 && iv[1] == 5*time.Minute {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("heartbeat tickers %v, want [45s 5m0s]", iv)
		}
		time.Sleep(time.Millisecond)
	}
	// a unit it cannot take (heartbeat 0) is denied
	bad, err := gdw3761.WriteCommParams(termAddr, m.seq(), [16]byte{}, &p)
	bad.Data[len(bad.Data)-1] = 0
	if f, units = m.ask(bad, err); f.AFN != gdw3761.AFNConfirm || len(units) != 1 || units[0].Fn != 2 {
		t.Errorf("04 F1 heartbeat 0 answered %v %v, want AFN 00 F2", f.AFN, units)
	}
}
