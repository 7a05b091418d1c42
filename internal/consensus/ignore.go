package consensus

import "strings"

// Paths are dot paths into a result that comparisons leave out
// ("transactions.*.v": the member v of every element of transactions; "*"
// matches any key or array index).
type Paths [][]string

// ParsePaths splits dot paths.
func ParsePaths(ps []string) Paths {
	out := make(Paths, 0, len(ps))
	for _, p := range ps {
		if p != "" {
			out = append(out, strings.Split(p, "."))
		}
	}
	return out
}

// step descends from depth into key: it returns the paths that still
// match below it, and whether one ends exactly here (the member is
// dropped). live nil at depth 0 means every path.
func (ps Paths) step(live []int, depth int, key string) (sub []int, drop bool) {
	if len(ps) == 0 {
		return nil, false
	}
	check := func(k int) {
		p := ps[k]
		if depth >= len(p) || (p[depth] != "*" && p[depth] != key) {
			return
		}
		if depth == len(p)-1 {
			drop = true
			return
		}
		sub = append(sub, k)
	}
	if depth == 0 {
		for k := range ps {
			check(k)
		}
	} else {
		for _, k := range live {
			check(k)
		}
	}
	if sub == nil {
		sub = noPaths
	}
	return sub, drop
}

// noPaths marks "no path matches below here" (nil means "all" only at the
// root, and is never passed below it).
var noPaths = []int{}
