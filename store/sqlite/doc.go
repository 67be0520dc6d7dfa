// Package sqlite is the embedded default store: a store.Store and
// store.Downsampler in one SQLite file, on the pure-Go modernc.org/sqlite
// driver (no cgo, no server).
//
//	s, err := sqlite.Open("/var/lib/headend/reads.db", sqlite.Options{
//		Retention: store.Retention{Raw: 90 * 24 * time.Hour},
//	})
//	...
//	go func() { for range time.Tick(time.Hour) { s.Prune(ctx) } }()
//
// # Schema
//
//	series (id INTEGER PRIMARY KEY, meter, class, quantity, area, channel, di, edition, unit)
//	       UNIQUE (meter, class, quantity, area, channel, di, edition, unit)
//	       INDEX series_area (area, class)
//	reads  (series, t, units, scale, text, status, err, mt, ra, tries, frame)
//	       PRIMARY KEY (series, t), WITHOUT ROWID
//	frames (id INTEGER PRIMARY KEY, sum, blob)  INDEX frames_sum (sum)
//	VIEW points: reads joined with series and frames, one row per read
//	aggregates (meter, class, quantity, day, area, unit, count, min_units, min_scale,
//	            max_units, max_scale, first_units, first_scale, last_units, last_scale,
//	            sum_units, sum_scale)  PRIMARY KEY (meter, class, quantity, day), WITHOUT ROWID
//	       INDEX aggregates_area (area, class, day), INDEX aggregates_day (day)
//
// A series is what the reads of one meter's one quantity of one class
// have alike: area, channel, DI, edition and unit are stored once a
// series, not once a read (series.go). A meter moved to another area, or
// read through another channel, starts another series of the same
// (meter, class, quantity); a store.Key, that triple and t, the time of
// store.Time in Unix nanoseconds (UTC), is held by one of them: Write
// is an upsert (INSERT OR REPLACE) that deletes the key from the others.
// The primary key of reads is two integers, and reads is a WITHOUT ROWID
// table, so that the key is the table and there is no second copy of it.
// Every query of an area, class, quantity or meters selects series first
// (through series_area or the unique index) and then the reads of each
// by their primary key; so do Prune and Downsample, one area and class at
// a time.
//
// A row holds the value (units and scale, the Decimal; text) and what
// differs from read to read, compactly (columns.go): status as a small
// integer, err NULL when empty, mt and ra the meter time and receipt time
// as flags and differences from t, frame the small integer id of a row of
// frames, which holds FrameRef.Request, Reply and Earlier once per
// distinct blob (framestore.go, the encoding in frames.go); tries is
// FrameRef.Tries. SQLite stores 0, 1 and NULL in a record's header alone,
// so a usual read is about 27 bytes. day is the start of a day in
// Options.Location. PRAGMA user_version is the schema version, 3; a
// version 1 or 2 file is migrated when opened (migrate.go).
//
// # Durability
//
// The file is in WAL mode with synchronous=NORMAL: a commit appends to the
// write-ahead log without waiting for the disk, and the log is synced at
// each checkpoint. A crash of the process (a panic, a kill -9) loses
// nothing that was committed, and no crash corrupts the file. That is
// what makes NORMAL safe behind the outbox (store/outbox), which keeps
// every batch on its own disk until Write returned nil. A power cut or a
// kernel crash is another matter: it can roll back the transactions
// committed since the last checkpoint, and those batches have left the
// outbox. Options.SyncFull closes that gap at the cost of an fsync per
// Write.
//
// # Retention and downsampling
//
// Write drops a read already past retention, Query and Aggregates never
// return one, and Prune deletes them: each area and class in its own
// statement, so that writes are not held up for long. Downsample computes
// the daily aggregates of raw reads; it must run over a day before its
// raw reads expire, and leaves alone a day whose raw reads may be partly
// gone.
//
// # Connections
//
// All writes go through one connection, each Write one transaction of
// prepared multi-row inserts; queries have connections of their own and,
// in WAL mode, neither wait for writes nor hold them up.
package sqlite
