package chainfeed

// ring is the recent canonical chain, oldest first, and the blocks recent
// reorgs dropped (by hash), both bounded.
type ring struct {
	blocks  []*Block
	max     int
	dropped map[string]*Block
	order   []string // dropped hashes, oldest first
}

func newRing(max int) *ring { return &ring{max: max, dropped: map[string]*Block{}} }

func (r *ring) tip() *Block {
	if len(r.blocks) == 0 {
		return nil
	}
	return r.blocks[len(r.blocks)-1]
}

// at is the canonical block at number n, or nil when not held.
func (r *ring) at(n uint64) *Block {
	if len(r.blocks) == 0 {
		return nil
	}
	first := r.blocks[0].Number
	if n < first || n > r.tip().Number {
		return nil
	}
	return r.blocks[n-first]
}

func (r *ring) has(hash string) bool {
	for i := len(r.blocks) - 1; i >= 0; i-- {
		if r.blocks[i].Hash == hash {
			return true
		}
	}
	return false
}

// truncateFrom drops the canonical blocks numbered n and above and returns
// them, oldest first; they are kept as dropped.
func (r *ring) truncateFrom(n uint64) []*Block {
	var out []*Block
	for len(r.blocks) > 0 && r.tip().Number >= n {
		out = append(out, r.tip())
		r.blocks = r.blocks[:len(r.blocks)-1]
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	for _, b := range out {
		r.drop(b)
	}
	return out
}

func (r *ring) drop(b *Block) {
	if _, ok := r.dropped[b.Hash]; ok {
		return
	}
	r.dropped[b.Hash] = b
	r.order = append(r.order, b.Hash)
	if len(r.order) > r.max {
		delete(r.dropped, r.order[0])
		r.order = r.order[1:]
	}
}

// push appends b, which must follow the tip (or start the ring afresh).
func (r *ring) push(b *Block) {
	if t := r.tip(); t != nil && (b.Number != t.Number+1) {
		for _, old := range r.blocks {
			r.drop(old)
		}
		r.blocks = r.blocks[:0]
	}
	r.blocks = append(r.blocks, b)
	if len(r.blocks) > r.max {
		copy(r.blocks, r.blocks[1:])
		r.blocks[len(r.blocks)-1] = nil
		r.blocks = r.blocks[:len(r.blocks)-1]
	}
}

// since is what changed for a reader whose last seen block is (n, hash):
// blocks dropped since (oldest first) and canonical blocks added after
// the fork point. ok is false when the ring no longer covers the cursor.
func (r *ring) since(n uint64, hash string) (removed, added []*Block, ok bool) {
	if len(r.blocks) == 0 {
		return nil, nil, false
	}
	fork := n
	if b := r.at(n); b == nil || b.Hash != hash {
		d := r.dropped[hash]
		if d == nil {
			return nil, nil, false
		}
		removed = []*Block{d}
		for {
			if c := r.at(d.Number - 1); c != nil && c.Hash == d.Parent {
				break
			}
			d = r.dropped[d.Parent]
			if d == nil {
				return nil, nil, false
			}
			removed = append([]*Block{d}, removed...)
		}
		fork = d.Number - 1
	}
	for _, b := range r.blocks {
		if b.Number > fork {
			added = append(added, b)
		}
	}
	return removed, added, true
}

// after is the canonical blocks numbered above n that the ring holds.
func (r *ring) after(n uint64) []*Block {
	var out []*Block
	for _, b := range r.blocks {
		if b.Number > n {
			out = append(out, b)
		}
	}
	return out
}
