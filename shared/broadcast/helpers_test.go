package broadcast

import (
	"bytes"
	"sort"
)

func sortedInts(v []int) []int {
	out := append([]int(nil), v...)
	sort.Ints(out)
	return out
}

func sortedStrings(v []string) []string {
	out := append([]string(nil), v...)
	sort.Strings(out)
	return out
}

func bytesContains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
