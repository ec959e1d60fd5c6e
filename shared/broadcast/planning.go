package broadcast

import "slices"

// The planning every driver shares. Each driver's plan decides what one of
// its provider's calls may hold; these decide what does not depend on the
// provider: which messages were refused, which channels a message names,
// and in what order units of work are packed.

// refuse records err as the failure of message i of n in pre, which it
// makes on the first refusal, and returns pre. A nil pre means no message
// was refused, which runCalls relies on.
func refuse(pre []error, n, i int, err error) []error {
	if pre == nil {
		pre = make([]error, n)
	}
	pre[i] = err
	return pre
}

// dedupe returns chans without repeats, each channel where it first
// appears: Pusher's triggers name the channels in the order given. It
// returns chans itself, without copying, when nothing repeats.
func dedupe(chans []string) []string {
	for i := 1; i < len(chans); i++ {
		if !slices.Contains(chans[:i], chans[i]) {
			continue
		}
		out := append(make([]string, 0, len(chans)), chans[:i]...)
		for _, ch := range chans[i+1:] {
			if !slices.Contains(out, ch) {
				out = append(out, ch)
			}
		}
		return out
	}
	return chans
}

// groupByComponent reorders units so that units whose channels are connected
// (directly or through other units) are contiguous, components in order of
// first appearance and units within a component in input order. Per-channel
// order is unchanged; packing the result in sequence keeps a busy channel's
// events in their own calls instead of chaining every call to it.
func groupByComponent[U any](units []U, chans func(*U) []string) []U {
	if len(units) < 2 {
		return units
	}
	id := make(map[string]int, len(units))
	parent := make([]int, 0, len(units))
	find := func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	idOf := func(ch string) int {
		if v, ok := id[ch]; ok {
			return v
		}
		v := len(parent)
		id[ch] = v
		parent = append(parent, v)
		return v
	}
	for i := range units {
		cs := chans(&units[i])
		a := find(idOf(cs[0]))
		for _, ch := range cs[1:] {
			if b := find(idOf(ch)); b != a {
				parent[b] = a
			}
		}
	}
	// A counting sort by component, components numbered by first appearance.
	comp := make([]int, len(units))
	number := make([]int, len(parent)) // a root's component number + 1; 0: none yet
	var counts []int
	for i := range units {
		root := find(id[chans(&units[i])[0]])
		if number[root] == 0 {
			counts = append(counts, 0)
			number[root] = len(counts)
		}
		c := number[root] - 1
		comp[i] = c
		counts[c]++
	}
	if len(counts) == 1 || len(counts) == len(units) {
		return units
	}
	next := make([]int, len(counts))
	for c := 1; c < len(counts); c++ {
		next[c] = next[c-1] + counts[c-1]
	}
	out := make([]U, len(units))
	for i := range units {
		out[next[comp[i]]] = units[i]
		next[comp[i]]++
	}
	return out
}
