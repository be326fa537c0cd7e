package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records durations in log-linear buckets, the layout of
// HdrHistogram: every power of two is split into subBuckets equal buckets,
// so a bucket is never wider than 1/128 of the values it holds (< 0.8 %)
// from 1 ns to 36 minutes, in a fixed 35 KB and O(1) per Record. Fixed
// buckets of the usual kind (1, 2, 5, 10 … ms) are too coarse to subtract
// two p50s a few hundred microseconds apart.
//
// A Histogram is not safe for concurrent use: each load worker has its own
// and they are merged at the end.
type Histogram struct {
	counts   [numBuckets]uint64
	n        uint64
	sum      float64 // ns; float so that hours of samples cannot overflow
	min, max int64
}

const (
	subBits    = 7
	subBuckets = 1 << subBits // buckets per power of two
	// maxShift bounds the range to 2^(maxShift+subBits+1) ns ≈ 36 min;
	// larger values land in the last bucket (Max stays exact).
	maxShift   = 33
	numBuckets = (maxShift + 2) * subBuckets
)

func bucketOf(v uint64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	if shift > maxShift {
		return numBuckets - 1
	}
	return shift*subBuckets + int(v>>shift)
}

// bucketRange is the half-open interval [lo, lo+width) of bucket i.
func bucketRange(i int) (lo, width uint64) {
	if i < 2*subBuckets {
		return uint64(i), 1
	}
	shift := i/subBuckets - 1
	m := uint64(i%subBuckets + subBuckets)
	return m << shift, 1 << shift
}

// Record adds one sample; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(uint64(v))]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds o's samples to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Quantile returns the value below which a fraction q (0..1) of the samples
// lie: the midpoint of the bucket holding that rank, kept within [min, max];
// q = 0 and 1 are the exact min and max.
func (h *Histogram) Quantile(q float64) time.Duration {
	switch {
	case h.n == 0:
		return 0
	case q <= 0:
		return time.Duration(h.min)
	case q >= 1:
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := bucketRange(i)
			v := int64(lo + w/2)
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// Latency summarises h in milliseconds, the unit of the report.
func (h *Histogram) Latency() Latency {
	ms := func(d time.Duration) float64 { return round3(float64(d) / 1e6) }
	l := Latency{Samples: h.n}
	if h.n == 0 {
		return l
	}
	l.Min, l.Max = ms(time.Duration(h.min)), ms(time.Duration(h.max))
	l.Mean = round3(h.sum / float64(h.n) / 1e6)
	l.P50, l.P90, l.P99 = ms(h.Quantile(0.50)), ms(h.Quantile(0.90)), ms(h.Quantile(0.99))
	return l
}

// round3 keeps microsecond resolution in the JSON: more digits would only
// be noise, and fewer would hide the per-row cost being measured.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
