package loss

import "strconv"

func strconvF(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }
