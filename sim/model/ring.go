package model

import "time"

// ring is a bounded ring buffer that grows lazily up to max entries.
type ring[T any] struct {
	buf  []T
	next int // where the next push goes once full
	max  int32
}

func (r *ring[T]) push(v T) {
	if len(r.buf) < int(r.max) {
		if len(r.buf) == cap(r.buf) {
			n := min(int(r.max), 2*len(r.buf)+4)
			nb := make([]T, len(r.buf), n)
			copy(nb, r.buf)
			r.buf = nb
		}
		r.buf = append(r.buf, v)
		return
	}
	r.buf[r.next] = v
	r.next = (r.next + 1) % len(r.buf)
}

func (r *ring[T]) len() int { return len(r.buf) }

// at returns the i-th newest entry (0 = newest).
func (r *ring[T]) at(i int) *T {
	n := len(r.buf)
	if len(r.buf) < int(r.max) {
		return &r.buf[n-1-i]
	}
	return &r.buf[(r.next-1-i+2*n)%n]
}

// newest returns the newest entry, or nil.
func (r *ring[T]) newest() *T {
	if len(r.buf) == 0 {
		return nil
	}
	return r.at(0)
}

// stamp is a meter-clock time in whole minutes since 2000-01-01 00:00 UTC.
type stamp uint32

const epoch2000 = 946684800

func toStamp(t time.Time) stamp { return stamp((t.Unix() - epoch2000) / 60) }

func (s stamp) time(z *time.Location) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s)*60+epoch2000, 0).In(z)
}
