package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// A shared server gives each test its own database; a started one is
// gone with its directory after Stop.
func TestServer(t *testing.T) {
	ctx := context.Background()
	s := Shared(t)
	a, b := s.NewDatabase(t), s.NewDatabase(t)
	if a == b {
		t.Fatalf("one database twice: %s", a)
	}
	c, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var v string
	if err := c.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil || v[:3] != "15." {
		t.Fatalf("server_version %q %v", v, err)
	}

	own := Start(t, Options{Durable: true})
	if own.Port == s.Port {
		t.Fatal("two servers on one port")
	}
	if err := own.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(own.Dir); !os.IsNotExist(err) {
		t.Fatalf("%s left behind: %v", own.Dir, err)
	}
}
