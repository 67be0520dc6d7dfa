package main

import (
	"fmt"
	"strings"

	"github.com/headend/headend/protocol/gdw3761"
)

// unknownMeters describes the meters an ERC35 record found.
func unknownMeters(e *gdw3761.Event) string {
	if e.Found == 0 {
		return " unknown meter found (no address in the record)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, " port %d: %d unknown meters found:", e.Port, e.Found)
	for i := range int(e.Found) {
		a, ph, q, _ := e.UnknownMeter(i)
		fmt.Fprintf(&b, " %s (phases %03b, signal %d)", a, ph, q)
	}
	return b.String()
}
