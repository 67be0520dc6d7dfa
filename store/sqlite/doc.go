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
//	series (id INTEGER PRIMARY KEY, meter, class, quantity)  UNIQUE (meter, class, quantity)
//	reads  (series, t, area, class, channel, di, edition, units, scale,
//	        text, unit, meter_time, read_at, status, err, tries, frame)
//	       PRIMARY KEY (series, t)
//	       INDEX reads_area (area, class, t)
//	VIEW points: reads joined with series, one row per read
//	aggregates (meter, class, quantity, day, area, unit, count, min_units, min_scale,
//	            max_units, max_scale, first_units, first_scale, last_units, last_scale,
//	            sum_units, sum_scale)  PRIMARY KEY (meter, class, quantity, day), WITHOUT ROWID
//	       INDEX aggregates_area (area, class, day), INDEX aggregates_day (day)
//
// A series is the (meter, class, quantity) of a store.Key; with t, the
// time of store.Time in Unix nanoseconds (UTC), it is the primary key of
// reads, so a Key is one row, compared as store.Key compares, and Write
// is an upsert (INSERT OR REPLACE). The key index is then two integers a
// row, and reads is a rowid table: rows go in the order they are written,
// so a batch touches few pages besides one leaf of the key index per
// series (with the strings in the key, writes were 1.5 to 1.7 times slower).
// reads_area serves the line-loss query (one area, one class, a range of
// time) in time order, and lets Prune and Downsample take one area and
// class at a time; Query by Meters goes through series to the key index.
// class is in reads as well as in series, for reads_area.
//
// meter_time and read_at are Unix nanoseconds, NULL when zero; day is the
// start of a day in Options.Location. A Decimal is two integers, units
// and scale. frame refers to the frames table (id, blob), which holds
// FrameRef.Request, Reply and Earlier once per distinct blob (framestore.go,
// the encoding in frames.go); tries is FrameRef.Tries. PRAGMA user_version is the schema
// version, 2 (a version 1 file is migrated when opened).
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
