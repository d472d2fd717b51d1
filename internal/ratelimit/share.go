package ratelimit

// Share is one replica's part of l when n replicas serve behind round-robin
// load balancing: the rate divided by n and the burst divided by n (rounded
// down, at least 1), so that the n shares together stay within l. n below 2
// (the count unknown, or one replica) leaves l whole.
func Share(l Limit, n int) Limit {
	if n < 2 {
		return l
	}
	return Limit{PerSecond: l.PerSecond / float64(n), Burst: max(1, l.Burst/n)}
}
