package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/spf13/cobra"
)

func newDecodeCmd() *cobra.Command {
	var text, raw bool
	var edition string
	cmd := &cobra.Command{
		Use:   "decode [HEX ...]",
		Short: "Decode DL/T 645 frames pasted as hex",
		Long: `Decode DL/T 645 frames copied from a serial sniffer or a log.

The hex may have spaces or not, FE preambles or not, and hold several
frames; without arguments it is read from standard input. Each frame
becomes one JSON object on its own line with the keys version, address,
control, function, di, values (name, value as a decimal string, unit) and
error. A malformed frame or an abnormal reply sets error, is described on
standard error with its byte offset, and makes the exit status 1; the
frames after it are still decoded. One corrupted frame is one error, and
line noise between frames (a stray 68 that starts no frame, say) is
skipped, not reported; --text notes it as noise.`,
		Example: `  headend decode 68 78 56 34 12 00 00 68 91 08 33 33 34 33 AB 89 67 45 2A 16
  headend decode --text FEFEFEFE6878563412000068110433333433C616`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var forced *dlt645.Edition
			if edition != "auto" {
				ed, err := dlt645.ParseEdition(edition)
				if err != nil {
					return err
				}
				forced = &ed
			}
			src := strings.Join(args, " ")
			if len(args) == 0 {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("reading standard input: %w", err)
				}
				src = string(b)
			}
			data := []byte(src)
			if !raw {
				var err error
				if data, err = parseHex(src); err != nil {
					return fmt.Errorf("bad hex input: %w", err)
				}
			}
			return decodeAny(data, forced, text, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&text, "text", false, "print for a person instead of JSON lines")
	cmd.Flags().StringVar(&edition, "edition", "auto", "protocol edition: auto, 2007 or 1997")
	cmd.Flags().BoolVar(&raw, "raw", false, "the input is binary bytes, not hex (e.g. straight from a socket)")
	return cmd
}

// decodeAll decodes every frame in data, writing a report for each.
func decodeAll(data []byte, forced *dlt645.Edition, text bool, out, errOut io.Writer) error {
	r := dlt645.NewReader(bytes.NewReader(data))
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	failed, frames := false, 0
	var end int64 // past the last good frame; -1 after a bad one
	for n := 1; ; n++ {
		f, err := r.ReadFrame()
		if err == io.EOF {
			if text && end >= 0 {
				writeNoise(out, data, end, int64(len(data)), "at the end")
			}
			break
		}
		var rep frameReport
		if err != nil {
			var fe *dlt645.FrameError
			off := int64(-1)
			if errors.As(err, &fe) {
				off = fe.Offset
			}
			rep = frameReport{Offset: off, Values: []valueEntry{}, Error: err.Error()}
		} else {
			rep = describe(f, r.Raw(), r.Offset(), forced)
		}
		if text && err == nil && end >= 0 {
			writeNoise(out, data, end, r.Offset(), fmt.Sprintf("before frame %d", n))
		}
		end = -1
		if err == nil {
			end = r.Offset() + int64(len(r.Raw()))
		}
		frames++
		if rep.Error != "" {
			failed = true
			fmt.Fprintf(errOut, "headend decode: frame %d at byte %d: %s\n", n, rep.Offset, rep.Error)
		}
		if text {
			writeText(out, n, rep)
		} else if err := enc.Encode(rep); err != nil {
			return err
		}
	}
	if frames == 0 {
		fmt.Fprintf(errOut, "headend decode: no frame in %d bytes (a frame starts with 68)\n", len(data))
		return errReported
	}
	if failed {
		return errReported
	}
	return nil
}

// writeNoise notes the bytes of data[from:to] that are not FE preamble:
// line noise the reader skipped.
func writeNoise(w io.Writer, data []byte, from, to int64, where string) {
	if from < 0 || to > int64(len(data)) || from >= to || len(bytes.Trim(data[from:to], "\xFE")) == 0 {
		return
	}
	noise := data[from:to]
	shown := fmt.Sprintf("% X", noise[:min(len(noise), 16)])
	if len(noise) > 16 {
		shown += " ..."
	}
	fmt.Fprintf(w, "noise %s: %d bytes at byte %d skipped (%s)\n\n", where, len(noise), from, shown)
}

func writeText(w io.Writer, n int, r frameReport) {
	if r.Version == "" {
		fmt.Fprintf(w, "frame %d at byte %d: %s\n\n", n, r.Offset, r.Error)
		return
	}
	who := "to"
	if r.Direction == "reply" {
		who = "from"
	}
	fmt.Fprintf(w, "frame %d at byte %d: DL/T 645-%s %s %s %s, control %s: %s\n", n, r.Offset, r.Version, r.Direction, who, r.Address, r.Control, r.Function)
	if r.DI != nil {
		fmt.Fprintf(w, "  DI %s %s\n", *r.DI, r.DIName)
	}
	if r.Seq != nil {
		fmt.Fprintf(w, "  SEQ %d\n", *r.Seq)
	}
	if r.More {
		fmt.Fprintln(w, "  more frames follow")
	}
	if r.Auth != nil {
		fmt.Fprintf(w, "  password level %d, operator %s\n", r.Auth.Level, r.Auth.Operator)
	}
	for _, v := range r.Values {
		fmt.Fprintf(w, "  %s = %s %s\n", v.Name, v.Value, v.Unit)
	}
	if r.Payload != "" {
		fmt.Fprintf(w, "  data %s\n", r.Payload)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
	fmt.Fprintln(w)
}
