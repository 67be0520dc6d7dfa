package link

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/headend/headend/internal/testenv"
	"github.com/headend/headend/sim/field"
)

func openLine(t *testing.T, bus field.Bus) *field.SerialLine {
	t.Helper()
	line, err := field.OpenSerialLine(t.Context(), bus, field.Options{})
	if err != nil {
		testenv.Skip(t, "no pty: %v", err)
	}
	t.Cleanup(func() { line.Close() })
	return line
}

func TestSerialReadAndTimeout(t *testing.T) {
	line := openLine(t, newMeters(map[string][]byte{meterA: value1, meterB: value2}))
	s, err := OpenSerial(SerialConfig{Device: line.Path()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st := s.State(); !st.Online || st.Err != "" {
		t.Fatalf("state after open: %+v", st)
	}

	transact(t, s, meterA, value1)
	if st := s.State(); st.LastSeen.IsZero() {
		t.Fatalf("LastSeen not set after a reply: %+v", st)
	}
	expectTimeout(t, s, dead)
	transact(t, s, meterB, value2) // the line still works after a timeout
	transact(t, s, meterA, value1)
	if !s.State().Online {
		t.Fatal("offline after a timeout")
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), readRequest(t, meterA)); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if _, err := s.Receive(t.Context(), time.Now().Add(time.Second)); !errors.Is(err, ErrClosed) {
		t.Fatalf("receive after close: %v", err)
	}
}

func TestSerialCloseInterruptsReceive(t *testing.T) {
	line := openLine(t, newMeters(nil))
	s, err := OpenSerial(SerialConfig{Device: line.Path()})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := s.Receive(t.Context(), time.Now().Add(time.Minute))
		errc <- err
	}()
	s.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("receive interrupted by Close: %v", err)
	}
}

// A USB adapter unplugged: the line goes away under the open port. The
// link goes offline, and the next Send opens the port again (here: the
// adapter comes back as another device).
func TestSerialReopensAfterIOError(t *testing.T) {
	line1 := openLine(t, newMeters(map[string][]byte{meterA: value1}))
	line2 := openLine(t, newMeters(map[string][]byte{meterA: value2}))

	var mu sync.Mutex
	device := line1.Path()
	opens := 0
	refuse := false
	s, err := OpenSerial(SerialConfig{
		Device:  "/dev/ttyUSB-test",
		Baud:    9600,
		Parity:  "n",
		Backoff: func(int) time.Duration { return 0 },
		Open: func(_ string, mode *serial.Mode) (serial.Port, error) {
			mu.Lock()
			defer mu.Unlock()
			opens++
			if mode.BaudRate != 9600 || mode.Parity != serial.NoParity || mode.DataBits != 8 || mode.StopBits != serial.OneStopBit {
				t.Errorf("mode %+v", mode)
			}
			if refuse {
				return nil, errors.New("no such device")
			}
			return serial.Open(device, mode)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	transact(t, s, meterA, value1)

	line1.Close()
	err = s.Send(t.Context(), readRequest(t, meterA))
	if err == nil {
		_, err = s.Receive(t.Context(), time.Now().Add(5*time.Second))
	}
	if !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "/dev/ttyUSB-test") {
		t.Fatalf("I/O on a vanished line: %v; want ErrOffline naming the device", err)
	}
	st := s.State()
	if st.Online || st.Err == "" {
		t.Fatalf("state after the line went: %+v", st)
	}
	if _, err := s.Receive(t.Context(), time.Now().Add(time.Second)); !errors.Is(err, ErrOffline) {
		t.Fatalf("receive while offline: %v", err)
	}

	mu.Lock()
	refuse = true
	mu.Unlock()
	if err := s.Send(t.Context(), readRequest(t, meterA)); !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "no such device") {
		t.Fatalf("send while the device is missing: %v", err)
	}

	mu.Lock()
	refuse, device = false, line2.Path()
	mu.Unlock()
	transact(t, s, meterA, value2)
	if st := s.State(); !st.Online || st.Err != "" {
		t.Fatalf("state after reopening: %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if opens != 3 {
		t.Fatalf("%d opens, want 3 (first, refused, reopened)", opens)
	}
}

func TestSerialBacksOff(t *testing.T) {
	line := openLine(t, newMeters(nil))
	opens := 0
	var attempts []int
	s, err := OpenSerial(SerialConfig{
		Device: line.Path(),
		Backoff: func(n int) time.Duration {
			attempts = append(attempts, n)
			return time.Hour
		},
		Open: func(dev string, mode *serial.Mode) (serial.Port, error) {
			opens++
			if opens == 1 {
				return serial.Open(dev, mode)
			}
			return nil, errors.New("unplugged")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	line.Close()
	err = s.Send(t.Context(), readRequest(t, meterA))
	if err == nil {
		_, err = s.Receive(t.Context(), time.Now().Add(5*time.Second))
	}
	if !errors.Is(err, ErrOffline) {
		t.Fatalf("I/O on a vanished line: %v", err)
	}
	for range 3 {
		if err := s.Send(t.Context(), readRequest(t, meterA)); !errors.Is(err, ErrOffline) {
			t.Fatalf("send while backing off: %v", err)
		}
	}
	if opens != 2 || len(attempts) != 1 || attempts[0] != 1 {
		t.Fatalf("%d opens, back-off attempts %v; want 2 opens and one back-off", opens, attempts)
	}
}

func TestSerialConfig(t *testing.T) {
	for _, cfg := range []SerialConfig{
		{},
		{Device: "x", Parity: "M"},
		{Device: "x", DataBits: 9},
		{Device: "x", StopBits: 3},
		{Device: "x", Baud: -1},
	} {
		if _, err := OpenSerial(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	var got *serial.Mode
	_, err := OpenSerial(SerialConfig{Device: "x", Open: func(_ string, m *serial.Mode) (serial.Port, error) {
		got = m
		return nil, errors.New("no port")
	}})
	if err == nil || !strings.Contains(err.Error(), "no port") {
		t.Fatalf("open error: %v", err)
	}
	if got.BaudRate != 2400 || got.DataBits != 8 || got.Parity != serial.EvenParity || got.StopBits != serial.OneStopBit {
		t.Fatalf("default mode %+v, want 2400 8E1", got)
	}
}

// A device missing at start (RetryOpen, as the collector opens its lines):
// the link is there, down, and comes up on the first Send after the
// device appears.
func TestSerialMissingAtStart(t *testing.T) {
	line := openLine(t, newMeters(map[string][]byte{meterA: value1}))
	present := false
	s, err := OpenSerial(SerialConfig{Device: line.Path(), RetryOpen: true,
		Backoff: func(int) time.Duration { return 0 },
		Open: func(dev string, mode *serial.Mode) (serial.Port, error) {
			if !present {
				return nil, errors.New("no such file or directory")
			}
			return serial.Open(dev, mode)
		}})
	if err != nil {
		t.Fatalf("a missing device with RetryOpen: %v", err)
	}
	defer s.Close()
	if st := s.State(); st.Online || !strings.Contains(st.Err, "no such file") {
		t.Fatalf("state with the device missing: %+v", st)
	}
	if err := s.Send(t.Context(), readRequest(t, meterA)); !errors.Is(err, ErrOffline) {
		t.Fatalf("send with the device missing: %v", err)
	}
	present = true
	transact(t, s, meterA, value1)
	if !s.State().Online {
		t.Fatalf("state once the device is there: %+v", s.State())
	}
}
