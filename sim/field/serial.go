package field

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// SerialLine is an RS-485 line on a pseudo-terminal: the meters of a Bus
// answer on the master side, and the head-end opens the slave device (Path)
// as it would a USB RS-485 adapter. The pty is raw: no echo, no CR/LF
// translation, no flow-control characters, every byte passes unchanged.
type SerialLine struct {
	master *os.File
	tty    *os.File // kept open so the line outlives the head-end's opens
	path   string
	line   *line
	cancel context.CancelFunc
	done   chan struct{}
	err    error // why the loop stopped, if not Close
	once   sync.Once
}

// PTY is a raw pseudo-terminal pair: the simulator reads and writes
// Master, the head-end opens Path as it would a USB RS-485 adapter.
type PTY struct {
	Master *os.File // non-blocking, so Close interrupts a Read
	Path   string
	tty    *os.File // kept open so the line outlives the head-end's opens
}

// OpenPTY opens a raw pseudo-terminal pair.
func OpenPTY() (*PTY, error) {
	m, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	fail := func(what string, err error) (*PTY, error) {
		m.Close()
		tty.Close()
		return nil, fmt.Errorf("pty %s: %s: %w", tty.Name(), what, err)
	}
	if err := makeRaw(tty); err != nil {
		return fail("raw mode", err)
	}
	// pty.Open leaves the master blocking (it calls Fd), so a Read would
	// not return on Close. A non-blocking duplicate goes through the
	// runtime poller.
	fd, err := unix.Dup(int(m.Fd()))
	if err != nil {
		return fail("dup master", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return fail("non-blocking master", err)
	}
	m.Close()
	return &PTY{Master: os.NewFile(uintptr(fd), "/dev/ptmx"), Path: tty.Name(), tty: tty}, nil
}

// Close closes both sides.
func (p *PTY) Close() error {
	err := p.Master.Close()
	p.tty.Close()
	return err
}

// OpenSerialLine opens a pty pair and serves bus on it until Close or ctx
// is done.
func OpenSerialLine(ctx context.Context, bus Bus, opts Options) (*SerialLine, error) {
	p, err := OpenPTY()
	if err != nil {
		return nil, fmt.Errorf("serial line: %w", err)
	}
	m, tty := p.Master, p.tty

	ctx, cancel := context.WithCancel(ctx)
	s := &SerialLine{master: m, tty: tty, path: tty.Name(), line: newLine(bus, opts), cancel: cancel, done: make(chan struct{})}
	s.line.log = s.line.log.With("pty", s.path)
	context.AfterFunc(ctx, func() { m.Close() })
	go func() {
		defer close(s.done)
		if err := s.line.serve(ctx, m, m); err != nil && ctx.Err() == nil && !errors.Is(err, os.ErrClosed) {
			s.err = fmt.Errorf("serial line %s: %w", s.path, err)
			s.line.log.Error("line stopped", "err", err)
		}
	}()
	return s, nil
}

// Path returns the slave device for the head-end to open, e.g. /dev/pts/5.
func (s *SerialLine) Path() string { return s.path }

// Stats returns the line's live counters.
func (s *SerialLine) Stats() *Stats { return &s.line.stats }

// Close stops serving, waits for the loop and closes the pty. It returns
// the error that stopped the loop earlier, if any.
func (s *SerialLine) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.master.Close()
		<-s.done
		s.tty.Close()
	})
	return s.err
}

// makeRaw puts a terminal in raw mode, as cfmakeraw(3) does, 8 data bits.
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL |
		unix.IXON | unix.IXOFF | unix.IXANY
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
