package fieldops

import (
	"context"
	"fmt"

	"github.com/headend/headend/protocol/gdw3761"
)

// DefaultArchiveChunk is how many meter entries one AFN 04 F10 frame
// carries (27 bytes each: about 550 bytes of data, inside the 1 KiB frame
// most terminals' GPRS modules accept).
const DefaultArchiveChunk = 20

// PushArchive downloads entries into terminal t at address a (AFN 04
// F10), chunk entries per frame (0: DefaultArchiveChunk), each confirmed
// by AFN 00 before the next goes. pw is the PW field; it is never put in
// an error or log. It returns how many entries the terminal confirmed.
func PushArchive(ctx context.Context, t Terminal, a gdw3761.Address, pw [16]byte, entries []gdw3761.MeterEntry, chunk int) (int, error) {
	if chunk <= 0 {
		chunk = DefaultArchiveChunk
	}
	done := 0
	for i := 0; i < len(entries); i += chunk {
		part := entries[i:min(i+chunk, len(entries))]
		req, err := gdw3761.WriteArchive(a, uint8(i/chunk), pw, &gdw3761.Archive{Meters: part})
		if err != nil {
			return done, fmt.Errorf("archive push to terminal %v, entries %d..%d: %w", a, i+1, i+len(part), err)
		}
		replies, err := t.Exchange(ctx, &req)
		if err != nil {
			return done, fmt.Errorf("archive push to terminal %v, entries %d..%d: %w", a, i+1, i+len(part), err)
		}
		if len(replies) == 0 {
			return done, fmt.Errorf("archive push to terminal %v, entries %d..%d: no reply", a, i+1, i+len(part))
		}
		if err := gdw3761.Acknowledged(&replies[0]); err != nil {
			return done, fmt.Errorf("archive push to terminal %v, entries %d..%d: %w", a, i+1, i+len(part), err)
		}
		done += len(part)
	}
	return done, nil
}

// PullArchive reads the entries serials back from terminal t (AFN 0A
// F10), chunk serials per request (0: DefaultArchiveChunk).
func PullArchive(ctx context.Context, t Terminal, a gdw3761.Address, serials []uint16, chunk int) ([]gdw3761.MeterEntry, error) {
	if chunk <= 0 {
		chunk = DefaultArchiveChunk
	}
	var out []gdw3761.MeterEntry
	var units []gdw3761.Unit
	for i := 0; i < len(serials); i += chunk {
		part := serials[i:min(i+chunk, len(serials))]
		req, err := gdw3761.ReadArchive(a, uint8(i/chunk), part)
		if err != nil {
			return out, fmt.Errorf("archive read-back from terminal %v: %w", a, err)
		}
		replies, err := t.Exchange(ctx, &req)
		if err != nil {
			return out, fmt.Errorf("archive read-back from terminal %v, entries %d..%d: %w", a, part[0], part[len(part)-1], err)
		}
		for r := range replies {
			if replies[r].AFN != gdw3761.AFNQuery {
				return out, fmt.Errorf("archive read-back from terminal %v: answered %v", a, replies[r].AFN)
			}
			units, err = replies[r].Units(units[:0])
			if err != nil {
				return out, fmt.Errorf("archive read-back from terminal %v: %w", a, err)
			}
			for _, u := range units {
				if u.Fn != 10 {
					continue
				}
				var ar gdw3761.Archive
				if err := ar.UnmarshalUnit(u.Data); err != nil {
					return out, fmt.Errorf("archive read-back from terminal %v: F10: %w", a, err)
				}
				out = append(out, ar.Meters...)
			}
		}
	}
	return out, nil
}
