package sqlite

import (
	"fmt"
	"strconv"
	"time"

	"github.com/headend/headend/meter"
)

// The compact columns of reads: what every read of a series has alike is
// in series; a row holds the value, and the rest only where it differs
// from the usual (SQLite stores the integers 0 and 1 and NULL in the
// record header alone).
//
//	status  a small integer for a known meter.Status (statusCodes), else its text
//	err     NULL when empty
//	mt      NULL: MeterTime is t; 0: MeterTime is zero (t is ReadAt)
//	ra      ReadAt - t in nanoseconds; NULL: ReadAt is zero; the text of
//	        ReadAt in Unix nanoseconds when the difference overflows
//	frame   the id of the frames row, NULL for no frames
//
// t is store.Time in Unix nanoseconds, as in schema version 2.

// statusCodes are the codes of status, by meter.Status; the index is the code.
var statusCodes = []meter.Status{meter.OK, meter.NoData, meter.Refused, meter.Failed, meter.Skipped}

// statusCode is the status column of st.
func statusCode(st meter.Status) any {
	for i, s := range statusCodes {
		if s == st {
			return int64(i)
		}
	}
	return string(st)
}

// statusOf is the meter.Status of a status column.
func statusOf(v any) (meter.Status, error) {
	switch v := v.(type) {
	case int64:
		if v >= 0 && v < int64(len(statusCodes)) {
			return statusCodes[v], nil
		}
		return "", fmt.Errorf("status code %d unknown", v)
	case string:
		return meter.Status(v), nil
	case []byte:
		return meter.Status(v), nil
	}
	return "", fmt.Errorf("status column %T", v)
}

// statusCodeSQL is the SQL of the status column of a status text x.
func statusCodeSQL(x string) string {
	q := "CASE " + x
	for i, s := range statusCodes {
		q += fmt.Sprintf(" WHEN '%s' THEN %d", s, i)
	}
	return q + " ELSE " + x + " END"
}

// timeColumns returns the mt and ra columns of r, whose t is t.
func timeColumns(r *meter.Read, t int64) (mt, ra any) {
	if r.MeterTime.IsZero() {
		mt = int64(0)
	}
	if !r.ReadAt.IsZero() {
		a := r.ReadAt.UnixNano()
		d := a - t
		if (a >= 0) == (t >= 0) || (d >= 0) == (a >= 0) { // no overflow
			ra = d
		} else {
			ra = strconv.FormatInt(a, 10)
		}
	}
	return mt, ra
}

// times returns MeterTime and ReadAt of a row with t, mt and ra, in loc.
func times(t int64, mt, ra any, loc *time.Location) (meterTime, readAt time.Time, err error) {
	if mt == nil {
		meterTime = time.Unix(0, t).In(loc)
	}
	switch v := ra.(type) {
	case nil:
	case int64:
		readAt = time.Unix(0, t+v).In(loc)
	case string, []byte:
		var n int64
		if n, err = strconv.ParseInt(fmt.Sprint(v), 10, 64); err != nil {
			return meterTime, readAt, fmt.Errorf("ra column %q: %w", v, err)
		}
		readAt = time.Unix(0, n).In(loc)
	default:
		return meterTime, readAt, fmt.Errorf("ra column %T", v)
	}
	return meterTime, readAt, nil
}

// pointsView is the view of reads as rows, frames included (as their blob).
const pointsView = `
CREATE VIEW points AS
	SELECT s.meter, s.class, s.quantity, r.t, s.area, s.channel, s.di, s.edition, r.units, r.scale,
		r.text, s.unit, CASE WHEN r.mt IS NULL THEN r.t END AS meter_time,
		CASE WHEN typeof(r.ra) = 'integer' THEN r.t + r.ra ELSE CAST(r.ra AS INTEGER) END AS read_at,
		` + "CASE r.status WHEN 0 THEN 'ok' WHEN 1 THEN 'no_data' WHEN 2 THEN 'refused' WHEN 3 THEN 'failed' WHEN 4 THEN 'skipped' ELSE r.status END" + ` AS status,
		coalesce(r.err, '') AS err, f.blob AS frames, r.tries
	FROM reads r JOIN series s ON s.id = r.series LEFT JOIN frames f ON f.id = r.frame;
`
