package testenv

import "sync"

// AtOnce calls fn(0) … fn(n-1), each in a goroutine of its own, and returns
// when every call has returned. The goroutines wait at a gate until all n
// have started, so the calls overlap as much as the machine allows: what a
// race test needs to meet the race rather than calls that ran one by one.
// fn must guard what it shares with the others.
func AtOnce(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}
