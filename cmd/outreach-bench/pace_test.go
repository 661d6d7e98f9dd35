package main

import (
	"testing"
	"time"
)

func TestProviderFigures(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	for _, c := range []struct {
		name    string
		times   []time.Time
		busiest int
		median  int
		rate    float64 // with 500 ms of latency
	}{
		{"none", nil, 0, 0, 0},
		{"one", at(0), 1, 1, 2},
		{"a window closes before the second's end", at(0, 999, 1000), 2, 2, 3 / 1.5},
		{"unsorted", at(1500, 0, 400, 1200, 1300), 3, 2, 5 / 2.0},
		{"a burst", at(0, 100, 200, 300, 2000, 2100, 3500), 4, 2, 7 / 4.0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := busiestSecond(c.times); got != c.busiest {
				t.Errorf("busiestSecond = %d, want %d", got, c.busiest)
			}
			if got := medianSecond(c.times); got != c.median {
				t.Errorf("medianSecond = %d, want %d", got, c.median)
			}
			if got := providerRate(c.times, 500*time.Millisecond); got != c.rate {
				t.Errorf("providerRate = %v, want %v", got, c.rate)
			}
		})
	}
}
