package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsTile(t *testing.T) {
	t.Parallel()
	// Every value maps to a bucket whose range holds it, and consecutive
	// buckets leave no gap: the layout is what Quantile relies on.
	var next uint64
	for i := range numBuckets {
		lo, w := bucketRange(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if i >= 2*subBuckets && float64(w)/float64(lo) > 1.0/subBuckets {
			t.Fatalf("bucket %d [%d, +%d) is wider than 1/%d of its values", i, lo, w, subBuckets)
		}
		for _, v := range []uint64{lo, lo + w - 1} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, i)
			}
		}
		next = lo + w
	}
	if got := bucketOf(math.MaxUint64); got != numBuckets-1 {
		t.Errorf("bucketOf(max) = %d, want the last bucket %d", got, numBuckets-1)
	}
}

func TestQuantileWithinOnePercent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		median time.Duration
		sigma  float64
	}{
		{"narrow sub-millisecond", 330 * time.Microsecond, 0.06},
		{"wide millisecond", 1200 * time.Microsecond, 0.3},
		{"tens of milliseconds", 15 * time.Millisecond, 0.5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, 2))
			// Two halves merged, as the workers' histograms are.
			var a, b Histogram
			xs := make([]time.Duration, 20000)
			for i := range xs {
				xs[i] = time.Duration(float64(tc.median) * math.Exp(tc.sigma*r.NormFloat64()))
				if i%2 == 0 {
					a.Record(xs[i])
				} else {
					b.Record(xs[i])
				}
			}
			a.Merge(&b)
			slices.Sort(xs)
			if a.Count() != uint64(len(xs)) {
				t.Fatalf("Count = %d, want %d", a.Count(), len(xs))
			}
			for _, q := range []float64{0.5, 0.9, 0.99} {
				want := xs[int(math.Ceil(q*float64(len(xs))))-1]
				got := a.Quantile(q)
				if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.01 {
					t.Errorf("Quantile(%g) = %v, exact %v (%.2f%% off)", q, got, want, 100*rel)
				}
			}
			if got, want := a.Quantile(1), xs[len(xs)-1]; got != want {
				t.Errorf("Quantile(1) = %v, want the max %v", got, want)
			}
			if got, want := a.Quantile(0), xs[0]; got != want {
				t.Errorf("Quantile(0) = %v, want the min %v", got, want)
			}
		})
	}
}

func TestEmptyHistogram(t *testing.T) {
	t.Parallel()
	var h Histogram
	if got := h.Quantile(0.5); got != 0 {
		t.Errorf("Quantile of nothing = %v, want 0", got)
	}
	if l := h.Latency(); l != (Latency{}) {
		t.Errorf("Latency of nothing = %+v, want zero", l)
	}
}
