package gdw3761_test

import (
	"fmt"

	"github.com/headend/headend/protocol/gdw3761"
)

// A day's freeze of two meters, asked for and answered in one exchange.
func Example() {
	term := gdw3761.Address{Area: 4401, Terminal: 1}
	day := gdw3761.DateTime{Year: 2026, Month: 12, Day: 6}
	req, _ := gdw3761.ReadDaily(term, 1, day, []uint16{1, 2}, []uint8{161})
	wire, _ := req.MarshalBinary()
	fmt.Printf("request % X\n", wire)

	// The concentrator's reply: per point td_d, reading time, tariff count, total and tariffs.
	reply := gdw3761.Response(&req, 1, true, true)
	d, _ := gdw3761.MakeDADT([]uint16{1, 2}, []uint8{161})
	reply.Data = append(reply.Data, d[:]...)
	for _, total := range []int64{123456789, 5000000} {
		e := gdw3761.Energy{Date: day, ReadTime: gdw3761.DateTime{Year: 2026, Month: 12, Day: 7, Minute: 5}, Total: gdw3761.N(total, 4)}
		reply.Data, _ = e.AppendUnit(reply.Data, gdw3761.AFNClass2, 161)
	}
	wire, _ = reply.MarshalBinary()

	var f gdw3761.Frame
	if _, err := f.Decode(wire); err != nil {
		fmt.Println(err)
		return
	}
	units, _ := f.Units(nil)
	var e gdw3761.Energy
	for _, u := range units {
		if err := e.UnmarshalUnit(f.AFN, u.Fn, u.Data); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("p%d F%d %s: %s kWh\n", u.Pn, u.Fn, e.Date.Time(nil).Format("2006-01-02"), e.Total)
	}
	// Output:
	// request 68 4A 00 4A 00 68 4B 01 44 01 00 00 0D 61 03 01 01 14 06 12 26 06 12 26 94 16
	// p1 F161 2026-12-06: 12345.6789 kWh
	// p2 F161 2026-12-06: 500.0000 kWh
}
