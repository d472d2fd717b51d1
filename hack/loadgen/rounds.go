package loadgen

import "context"

// Alternate calls f(round, i) for every round and every one of n targets,
// the targets in order in even rounds and in reverse in odd ones (A B C,
// C B A, A B C, ...), so that a baseline and the targets compared with it
// run side by side throughout and the machine's drifting background load
// weighs on all alike. It stops once ctx has ended.
func Alternate(ctx context.Context, rounds, n int, f func(round, i int)) {
	for r := range rounds {
		for k := range n {
			if ctx.Err() != nil {
				return
			}
			i := k
			if r%2 == 1 {
				i = n - 1 - k
			}
			f(r, i)
		}
	}
}
