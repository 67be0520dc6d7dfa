package gdw3761

import "fmt"

// Assembler collects the frames of a multi-frame reply: the first has FIR,
// the last FIN, and their sequence numbers count up by one from the first
// (modulo 16), as 376.1 numbers the RSEQ of a reply's frames. A one-frame
// reply (FIR and FIN) is complete at once. The zero Assembler is ready.
type Assembler struct {
	frames []Frame
	next   uint8
	done   bool
}

// Add adds a frame (copied) and reports whether the reply is complete. A
// frame out of turn (a middle frame with no first, a gap in the sequence,
// another AFN or terminal) is an error wrapping ErrSequence; the frames
// collected so far are dropped, and a frame with FIR starts afresh.
func (a *Assembler) Add(f *Frame) (done bool, err error) {
	if a.done {
		a.frames, a.done = a.frames[:0], false
	}
	if f.Seq.FIR() {
		if len(a.frames) > 0 {
			err = fmt.Errorf("%w: a new first frame (RSEQ %d) after %d frames without FIN", ErrSequence, f.Seq.Num(), len(a.frames))
		}
		a.frames = append(a.frames[:0], f.Clone())
		a.next = (f.Seq.Num() + 1) & 0x0F
		a.done = f.Seq.FIN()
		return a.done, err
	}
	if len(a.frames) == 0 {
		return false, fmt.Errorf("%w: frame RSEQ %d without a first frame", ErrSequence, f.Seq.Num())
	}
	first := &a.frames[0]
	switch {
	case f.Seq.Num() != a.next:
		err = fmt.Errorf("%w: RSEQ %d, want %d", ErrSequence, f.Seq.Num(), a.next)
	case f.AFN != first.AFN || f.Address != first.Address:
		err = fmt.Errorf("%w: %v from %v in a reply of %v from %v", ErrSequence, f.AFN, f.Address, first.AFN, first.Address)
	}
	if err != nil {
		a.frames = a.frames[:0]
		return false, err
	}
	a.frames = append(a.frames, f.Clone())
	a.next = (a.next + 1) & 0x0F
	a.done = f.Seq.FIN()
	return a.done, nil
}

// Frames returns the frames of the reply collected so far, first to last;
// after a complete reply they stay until the next Add.
func (a *Assembler) Frames() []Frame { return a.frames }

// Units appends the data units of all the frames, in order.
func (a *Assembler) Units(dst []Unit) ([]Unit, error) {
	var err error
	for i := range a.frames {
		if dst, err = a.frames[i].Units(dst); err != nil {
			return dst, fmt.Errorf("frame %d of %d: %w", i+1, len(a.frames), err)
		}
	}
	return dst, nil
}

// Reset drops the frames collected.
func (a *Assembler) Reset() { a.frames, a.done = a.frames[:0], false }
