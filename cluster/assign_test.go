package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randomMembers(r *rand.Rand, n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{Name: fmt.Sprintf("node-%d-%x", i, r.Uint32())}
	}
	return ms
}

func randomItems(r *rand.Rand, n int) []string {
	its := make([]string, n)
	for i := range its {
		if i%2 == 0 {
			its[i] = fmt.Sprintf("channel:bus-%d-%x", i, r.Uint32())
		} else {
			its[i] = fmt.Sprintf("terminal:%04X%05d", r.IntN(0x10000), r.IntN(100000))
		}
	}
	return its
}

func TestOwnerIsDeterministicAndOrderFree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ms := randomMembers(r, 5)
	its := randomItems(r, 2000)
	a := Assign(ms, its)
	rev := append([]Member(nil), ms...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	b := Assign(rev, its)
	for _, it := range its {
		if a[it] != b[it] {
			t.Fatalf("%s: owner %s with one member order, %s with another", it, a[it], b[it])
		}
	}
	if Owner(nil, "x") != "" {
		t.Fatal("no members: want no owner")
	}
}

// TestBalance checks, over many random member and item sets, that every
// member's share is within 4 standard deviations of the binomial
// expectation, and reports the worst relative deviation seen.
func TestBalance(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	worst := 0.0
	for trial := 0; trial < 60; trial++ {
		n := 2 + trial%9 // 2..10 nodes
		ms := randomMembers(r, n)
		its := randomItems(r, 3000)
		sh := Shares(ms, Assign(ms, its))
		p := 1 / float64(n)
		mean := p * float64(len(its))
		sd := math.Sqrt(float64(len(its)) * p * (1 - p))
		for name, c := range sh {
			if math.Abs(float64(c)-mean) > 4*sd {
				t.Errorf("trial %d, %d nodes: %s owns %d of %d, expected %.0f ± %.0f", trial, n, name, c, len(its), mean, 4*sd)
			}
			worst = max(worst, math.Abs(float64(c)-mean)/mean)
		}
	}
	t.Logf("worst share off its mean by %.1f%% (3000 items, 2–10 nodes, 60 sets)", 100*worst)
}

func TestWeightedBalance(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ms := []Member{{Name: "small", Weight: 1}, {Name: "big", Weight: 3}}
	its := randomItems(r, 20000)
	sh := Shares(ms, Assign(ms, its))
	got := float64(sh["big"]) / float64(len(its))
	if math.Abs(got-0.75) > 0.02 {
		t.Fatalf("weight 3 against 1: big owns %.3f of the items, want 0.75", got)
	}
}

// TestMovementOnJoinAndLeave checks rendezvous hashing's promise over many
// random sets: when a node joins, an item moves only to the newcomer, and
// about 1/(N+1) of them do; when a node leaves, only its own items move.
func TestMovementOnJoinAndLeave(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	worst := 0.0
	for trial := 0; trial < 60; trial++ {
		n := 1 + trial%8 // 1..8 nodes, then one joins
		ms := randomMembers(r, n+1)
		its := randomItems(r, 3000)
		before := Assign(ms[:n], its)
		after := Assign(ms, its)
		newcomer := ms[n].Name
		moved := 0
		for _, it := range its {
			if before[it] == after[it] {
				continue
			}
			moved++
			if after[it] != newcomer {
				t.Fatalf("trial %d: %s moved from %s to %s, not to the newcomer %s", trial, it, before[it], after[it], newcomer)
			}
		}
		frac, want := float64(moved)/float64(len(its)), 1/float64(n+1)
		sd := math.Sqrt(want * (1 - want) / float64(len(its)))
		if math.Abs(frac-want) > 4*sd {
			t.Errorf("trial %d: %d nodes + 1 moved %.3f of the items, want %.3f", trial, n, frac, want)
		}
		worst = max(worst, math.Abs(frac-want)/want)

		// The newcomer leaves again: exactly its items move, back where they were.
		for _, it := range its {
			if after[it] != newcomer && after[it] != before[it] {
				t.Fatalf("trial %d: %s owned by %s, which stays, moved on leave", trial, it, after[it])
			}
		}
		// A random old member leaves: only its items move.
		gone := r.IntN(n + 1)
		rest := append(append([]Member(nil), ms[:gone]...), ms[gone+1:]...)
		if len(rest) == 0 {
			continue
		}
		left := Assign(rest, its)
		for _, it := range its {
			if after[it] != ms[gone].Name && left[it] != after[it] {
				t.Fatalf("trial %d: %s moved from %s to %s when %s left", trial, it, after[it], left[it], ms[gone].Name)
			}
		}
	}
	t.Logf("moved share off 1/(N+1) by at most %.1f%% of it (3000 items, 1–8 nodes + 1, 60 sets)", 100*worst)
}

func BenchmarkOwner(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	ms := randomMembers(r, 10)
	its := randomItems(r, 1024)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Owner(ms, its[i%len(its)])
	}
}
