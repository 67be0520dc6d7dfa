// Command metersim stands in for the field: whole transformer areas of
// DL/T 645 meters behind concentrators, reachable the ways real ones are
// (TCP, dial-in, RS-485 on a pseudo-terminal, MQTT, Modbus), with faults
// and theft the scenario plants, and the ground truth served over HTTP.
//
//	metersim --scenario testdata/scenarios/demo.yaml
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
	"github.com/spf13/cobra"
)

func main() {
	if err := newRoot(os.Stdout, os.Stderr).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "metersim:", err)
		os.Exit(1)
	}
}

type flags struct {
	scenario  string
	speed     float64
	warmup    time.Duration
	httpAddr  string
	truth     string
	broker    string
	headEnd   string
	heartbeat time.Duration
	zeroDelay bool
	check     bool
	verbose   bool
	duration  time.Duration
}

func newRoot(out, errOut io.Writer) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "metersim",
		Short: "Simulate transformer areas of DL/T 645 meters behind concentrators",
		Long: `metersim runs a scenario (testdata/scenarios/*.yaml): areas of customer meters
and an area meter each, behind a concentrator reached over TCP (the head-end
dials it), TCP dial-in (it dials the head-end and registers), a serial line on
a pseudo-terminal, an MQTT gateway, or Modbus TCP/RTU. It plants the
scenario's faults and theft and serves the ground truth:

  GET /truth      true consumption, loss and theft, and the planted faults
  GET /endpoints  where each concentrator is
  GET /healthz    the simulated time

Time runs at the scenario's speed (e.g. 1440: a simulated day per minute).
Same seed, same scenario: the same bytes on the wire.`,
		Example: `  metersim --scenario testdata/scenarios/demo.yaml
  metersim --scenario testdata/scenarios/tiny.yaml --speed 1 --http 127.0.0.1:8090
  metersim --scenario testdata/scenarios/large.yaml --zero-delay --check`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), f, out, errOut)
		},
	}
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	fl := cmd.Flags()
	fl.StringVar(&f.scenario, "scenario", "testdata/scenarios/demo.yaml", "scenario file")
	fl.Float64Var(&f.speed, "speed", 0, "simulated seconds per real second (default: the scenario's)")
	fl.DurationVar(&f.warmup, "warmup", 0, "run the fleet this long past the scenario's start before serving (meters then hold that history)")
	fl.StringVar(&f.httpAddr, "http", "127.0.0.1:8090", "address for the ground-truth HTTP endpoint (empty: none)")
	fl.StringVar(&f.truth, "truth", "", "also write the ground truth to this file on exit")
	fl.StringVar(&f.broker, "broker", "", `MQTT broker URL for MQTT gateways ("embedded": start one in-process)`)
	fl.StringVar(&f.headEnd, "headend", "", "address dial-in concentrators call (default: the scenario's)")
	fl.DurationVar(&f.heartbeat, "heartbeat", 0, "heartbeat interval of the 376.1 concentrators (default 60s)")
	fl.BoolVar(&f.zeroDelay, "zero-delay", false, "ignore line delays and baud rates (load tests)")
	fl.BoolVar(&f.check, "check", false, "load and check the scenario, print its size, and exit")
	fl.BoolVar(&f.verbose, "verbose", false, "log every transaction")
	fl.DurationVar(&f.duration, "for", 0, "stop after this much real time (0: until interrupted)")
	cmd.AddCommand(newGDWFleetCmd(out)) // gdw_fleet.go
	return cmd
}

func run(ctx context.Context, f *flags, out, errOut io.Writer) error {
	sc, err := scenario.Load(f.scenario)
	if err != nil {
		return err
	}
	areas, meters := len(sc.Config.Areas), 0
	for _, a := range sc.Config.Areas {
		meters += 1 + len(a.Customers)
	}
	if f.check {
		fmt.Fprintf(out, "%s: %d areas, %d meters, %d planted faults, seed %d, speed %g\n",
			sc.File, areas, meters, countFaults(sc), sc.Config.Seed, sc.Speed)
		return nil
	}
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	sim, err := simulator.Start(ctx, sc, simulator.Options{Speed: f.speed, Warmup: f.warmup, ZeroDelay: f.zeroDelay, Broker: f.broker, HeadEnd: f.headEnd, Heartbeat: f.heartbeat, Logger: log})
	if err != nil {
		return err
	}
	defer sim.Close()
	printEndpoints(out, sim)
	if f.httpAddr != "" {
		ln, err := net.Listen("tcp", f.httpAddr)
		if err != nil {
			return fmt.Errorf("--http %s: %w", f.httpAddr, err)
		}
		srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(out, "ground truth: http://%s/truth\n", ln.Addr())
	}
	log.Info("running", "scenario", sc.File, "areas", areas, "meters", meters, "speed", sim.Clock.Speed, "simulated_start", sim.Fleet.Start())
	report := time.NewTicker(10 * time.Second)
	defer report.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-report.C:
			log.Info("simulated time", "now", sim.Fleet.Now().Format("2006-01-02 15:04"))
		}
	}
	if f.truth != "" {
		if err := writeTruth(sim, f.truth); err != nil {
			return err
		}
		fmt.Fprintf(out, "ground truth written to %s\n", f.truth)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(ctx.Err(), context.Canceled) {
		return nil
	}
	return ctx.Err()
}

func countFaults(sc *scenario.Scenario) int {
	n := 0
	for _, a := range sc.Config.Areas {
		n += len(a.AreaMeter.Faults)
		for _, m := range a.Customers {
			n += len(m.Faults)
		}
	}
	return n
}

func printEndpoints(out io.Writer, sim *simulator.Simulator) {
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CONCENTRATOR\tAREA\tACCESS\tADDRESS\tMETERS")
	for _, e := range sim.Endpoints {
		addr := e.Address
		if e.Link != "" {
			addr += " (" + e.Link + ")"
		}
		if e.TopicDown != "" {
			addr += " " + e.TopicDown + " -> " + e.TopicUp
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\n", e.Concentrator, e.Area, e.Kind, addr, len(e.Meters))
	}
	w.Flush()
}

func writeTruth(sim *simulator.Simulator, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := sim.Fleet.WriteTruth(f); err != nil {
		f.Close()
		return fmt.Errorf("writing ground truth to %s: %w", path, err)
	}
	return f.Close()
}
