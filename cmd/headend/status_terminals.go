package main

import (
	"fmt"
	"io"
	"time"

	"github.com/headend/headend/fieldops"
)

// printTerminals lists the Q/GDW 1376.1 terminals: online since when,
// last heartbeat, their clock's offset from the head-end's at that
// heartbeat, frames in/out and bad frames.
func printTerminals(w io.Writer, st *fieldops.Status) {
	if len(st.Terminals) == 0 {
		return
	}
	fmt.Fprintf(w, "\nTERMINAL\tONLINE\tSINCE\tLAST HEARTBEAT\tCLOCK\tFRAMES IN/OUT\tBAD\n")
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Format("2006-01-02 15:04:05")
	}
	for _, t := range st.Terminals {
		clock := "-"
		if !t.Clock.IsZero() && !t.LastHeartbeat.IsZero() {
			clock = fmt.Sprintf("%s (%+.0fs)", t.Clock.Format("15:04:05"), t.Clock.Sub(t.LastHeartbeat).Seconds())
		}
		online := "yes"
		if !t.Online {
			online = "no"
			if t.Err != "" {
				online += " (" + t.Err + ")"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%d\n", t.ID, online, at(t.Since), at(t.LastHeartbeat), clock, t.FramesIn, t.FramesOut, t.BadFrames)
	}
}
