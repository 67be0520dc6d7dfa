package meter

import "time"

// Key identifies a value of a meter: one meter's quantity of one reading
// class at one time. The time is the meter's stamp for daily freezes and
// load-profile records (the freeze or record time), the head-end's receipt
// time otherwise. Keys compare with == when their times are in one zone
// (the store puts them in UTC).
type Key struct {
	Meter    string
	Class    Class
	Quantity string
	Time     time.Time
}
