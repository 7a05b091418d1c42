package config

import "strings"

// closest returns the candidate most like s, or "" when none is close enough
// to be a plausible typo. Case, "-" and "_" differences always count as
// close (chainId, chain-id → chain_id); otherwise up to one edit per four
// letters is allowed, at most three.
func closest(s string, candidates []string) string {
	norm := func(x string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(x))
	}
	best, bestDist := "", -1
	if len(s) > 100 {
		return "" // not a typo; spare the quadratic distance
	}
	for _, c := range candidates {
		if norm(c) == norm(s) {
			return c
		}
		limit := min(3, max(1, len(c)/4))
		if abs(len(c)-len(s)) > limit {
			continue // too far apart to be a typo; skip the quadratic distance
		}
		dist := editDistance(strings.ToLower(s), strings.ToLower(c))
		if dist <= limit && (bestDist < 0 || dist < bestDist) {
			best, bestDist = c, dist
		}
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// editDistance is the optimal string alignment distance between a and b
// (bytes): insertions, deletions, substitutions and swaps of two adjacent
// letters ("defualt") each cost one.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
