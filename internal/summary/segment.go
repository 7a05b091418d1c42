package summary

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The disk buffer is a directory of segment files, 00000000000000000001.seg
// and up, each a sequence of frames:
//
//	magic "RG" (2 bytes) | payload length (uint32 LE) | CRC32C of payload (uint32 LE) | payload
//
// Segments are written by appends only and never reopened for writing: a
// restart starts a new one, so a frame torn by a crash can only be at the
// end of an old segment. The read position (segment, offset) is kept in
// the file "cursor", rewritten atomically after every acknowledged batch;
// segments behind it are deleted. A frame whose checksum does not match
// is skipped and counted, and reading resumes at the next frame that
// checks out, so one flipped byte costs one record.

const (
	frameHeader = 10
	// maxFrame bounds a frame's payload; a larger length is corruption.
	maxFrame = 1 << 20
)

var (
	frameMagic = [2]byte{'R', 'G'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// appendFrame writes payload as one frame.
func appendFrame(b, payload []byte) []byte {
	var h [frameHeader]byte
	h[0], h[1] = frameMagic[0], frameMagic[1]
	binary.LittleEndian.PutUint32(h[2:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[6:], crc32.Checksum(payload, castagnoli))
	b = append(b, h[:]...)
	return append(b, payload...)
}

// frameAt reads the frame at data[off:]. ok is false for a bad frame;
// short is true when data ends inside a frame header or payload that
// still looks valid (more may be written).
func frameAt(data []byte, off int) (payload []byte, next int, ok, short bool) {
	rest := data[off:]
	if len(rest) < frameHeader {
		return nil, off, false, len(rest) == 0 || (rest[0] == frameMagic[0] && (len(rest) < 2 || rest[1] == frameMagic[1]))
	}
	if rest[0] != frameMagic[0] || rest[1] != frameMagic[1] {
		return nil, off, false, false
	}
	n := binary.LittleEndian.Uint32(rest[2:])
	if n > maxFrame {
		return nil, off, false, false
	}
	if len(rest) < frameHeader+int(n) {
		return nil, off, false, true
	}
	p := rest[frameHeader : frameHeader+int(n)]
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(rest[6:]) {
		return nil, off, false, false
	}
	return p, off + frameHeader + int(n), true, false
}

// resync finds the next offset after off where a valid frame starts, or
// len(data).
func resync(data []byte, off int) int {
	for i := off + 1; i < len(data); i++ {
		if data[i] != frameMagic[0] {
			continue
		}
		if _, _, ok, _ := frameAt(data, i); ok {
			return i
		}
	}
	return len(data)
}

// ScanFrames calls fn for every valid frame of a whole segment and
// returns how many bad stretches were skipped (a torn tail counts as
// one). It is the segment reader's logic over a byte slice.
func ScanFrames(data []byte, fn func(payload []byte)) (corrupt int) {
	off := 0
	for off < len(data) {
		p, next, ok, _ := frameAt(data, off)
		if !ok {
			corrupt++
			off = resync(data, off)
			continue
		}
		fn(p)
		off = next
	}
	return corrupt
}

// errFull is returned by append when the disk limit is reached.
var errFull = errors.New("disk buffer full")

// pos is a place in the buffer.
type pos struct {
	seq uint64
	off int
}

// spool is one sink's disk buffer. Safe for concurrent use: Offer appends
// from request goroutines when the queue is full, the sink's worker
// appends and reads.
type spool struct {
	dir      string
	maxBytes int64
	segBytes int64

	rmu     sync.Mutex // the reader (the sink's worker): cache; taken before mu
	mu      sync.Mutex
	segs    []uint64 // existing segments, oldest first
	w       *os.File // the segment being written (segs' last), nil until needed
	wseq    uint64
	wsize   int64
	bytes   int64 // sum of segment sizes
	records int64 // frames after the cursor (valid or not)
	cursor  pos   // committed read position
	// read cache (under rmu): the segment at cache.seq, read up to
	// len(cache.data)
	cache struct {
		seq      uint64
		data     []byte
		complete bool // read after the segment was closed for writing
	}
	corrupt int64 // bad stretches skipped, for the metric
}

func openSpool(dir string, maxBytes, segBytes int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &spool{dir: dir, maxBytes: maxBytes, segBytes: segBytes}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".seg") {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 10, 64)
		if err != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, err
		}
		s.segs = append(s.segs, seq)
		s.bytes += fi.Size()
	}
	slices.Sort(s.segs)
	if len(s.segs) > 0 {
		s.wseq = s.segs[len(s.segs)-1]
		s.cursor = pos{seq: s.segs[0]}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cursor")); err == nil {
		var c pos
		if _, err := fmt.Sscanf(string(b), "%d %d", &c.seq, &c.off); err == nil && slices.Contains(s.segs, c.seq) {
			s.cursor = c
		}
	}
	// Count what is left to send (frames after the cursor).
	for _, seq := range s.segs {
		if seq < s.cursor.seq {
			continue
		}
		data, err := os.ReadFile(s.segPath(seq))
		if err != nil {
			return nil, err
		}
		off := 0
		if seq == s.cursor.seq {
			off = min(s.cursor.off, len(data))
		}
		s.records += int64(countFrames(data[off:]))
	}
	return s, nil
}

func countFrames(data []byte) int {
	n := 0
	ScanFrames(data, func([]byte) { n++ })
	return n
}

func (s *spool) segPath(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d.seg", seq))
}

// append writes payloads as frames with one write. It returns how many
// were written; fewer than len(payloads) with errFull at the disk limit.
func (s *spool) append(payloads [][]byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var buf []byte
	n := 0
	var err error
	for _, p := range payloads {
		if s.bytes+int64(len(buf))+int64(frameHeader+len(p)) > s.maxBytes {
			err = errFull
			break
		}
		buf = appendFrame(buf, p)
		n++
	}
	if len(buf) == 0 {
		return 0, err
	}
	if s.w == nil || s.wsize >= s.segBytes {
		if werr := s.rotate(); werr != nil {
			return 0, werr
		}
	}
	if _, werr := s.w.Write(buf); werr != nil {
		return 0, werr
	}
	s.wsize += int64(len(buf))
	s.bytes += int64(len(buf))
	s.records += int64(n)
	return n, err
}

// rotate starts a new segment. s.mu is held.
func (s *spool) rotate() error {
	if s.w != nil {
		s.w.Close()
		s.w = nil
	}
	seq := s.wseq + 1
	f, err := os.OpenFile(s.segPath(seq), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if len(s.segs) == 0 {
		s.cursor = pos{seq: seq}
	}
	s.w, s.wseq, s.wsize = f, seq, 0
	s.segs = append(s.segs, seq)
	return nil
}

// pending is the number of records after the cursor.
func (s *spool) pending() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records
}

func (s *spool) size() (bytes, records int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes, s.records
}

// read returns up to max payloads from the cursor on, the position after
// them and the number of frames consumed (including bad ones). It does
// not move the cursor: commit does, once the batch is acknowledged.
func (s *spool) read(max int) (out [][]byte, next pos, frames int, err error) {
	// Files are read under rmu only, so an append on a request goroutine
	// (queue full) never waits for a segment being read.
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	segs, p, wseq, writing := slices.Clone(s.segs), s.cursor, s.wseq, s.w != nil
	s.mu.Unlock()
	corrupt := 0
	defer func() {
		if corrupt > 0 {
			s.mu.Lock()
			s.corrupt += int64(corrupt)
			s.mu.Unlock()
		}
	}()
	for len(out) < max {
		i := slices.Index(segs, p.seq)
		if i < 0 {
			break
		}
		data, err := s.segment(p.seq, wseq, writing)
		if err != nil {
			return out, p, frames, err
		}
		if p.off >= len(data) {
			if i == len(segs)-1 {
				break // the end of what is written
			}
			p = pos{seq: segs[i+1]}
			continue
		}
		payload, nxt, ok, short := frameAt(data, p.off)
		if !ok {
			if short && p.seq == wseq && writing {
				break // the writer is mid-frame: read it next time
			}
			corrupt++
			p.off = resync(data, p.off)
			frames++
			continue
		}
		out = append(out, payload)
		p.off = nxt
		frames++
	}
	return out, p, frames, nil
}

// segment returns the bytes of segment seq read so far, reading more of
// it while it is the one being written (wseq, writing). s.rmu is held.
func (s *spool) segment(seq, wseq uint64, writing bool) ([]byte, error) {
	if s.cache.seq != seq {
		s.cache.seq, s.cache.data, s.cache.complete = seq, nil, false
	}
	if s.cache.complete {
		return s.cache.data, nil
	}
	complete := seq != wseq || !writing
	f, err := os.Open(s.segPath(seq))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	have := len(s.cache.data)
	s.cache.complete = complete
	if int64(have) >= fi.Size() {
		return s.cache.data, nil
	}
	buf := make([]byte, fi.Size()-int64(have))
	if _, err := io.ReadFull(io.NewSectionReader(f, int64(have), int64(len(buf))), buf); err != nil {
		return nil, err
	}
	s.cache.data = append(s.cache.data, buf...)
	return s.cache.data, nil
}

// commit moves the cursor to p after frames records were acknowledged,
// deletes segments wholly behind it and persists it.
func (s *spool) commit(p pos, frames int) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursor = p
	s.records = max(0, s.records-int64(frames))
	for len(s.segs) > 1 && s.segs[0] < p.seq {
		s.drop(s.segs[0])
	}
	// Everything read: start afresh, so the disk is given back.
	if s.records == 0 && len(s.segs) == 1 && s.segs[0] == p.seq {
		if data, _ := s.segment(p.seq, s.wseq, s.w != nil); p.off >= len(data) {
			if s.w != nil {
				s.w.Close()
				s.w = nil
			}
			s.drop(p.seq)
			s.cursor = pos{seq: s.wseq + 1}
			os.Remove(filepath.Join(s.dir, "cursor"))
			return nil
		}
	}
	tmp := filepath.Join(s.dir, "cursor.tmp")
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d %d\n", p.seq, p.off)), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.dir, "cursor"))
}

// drop deletes the oldest segment seq. s.rmu and s.mu are held.
func (s *spool) drop(seq uint64) {
	if fi, err := os.Stat(s.segPath(seq)); err == nil {
		s.bytes -= fi.Size()
	}
	os.Remove(s.segPath(seq))
	s.segs = slices.DeleteFunc(s.segs, func(x uint64) bool { return x == seq })
	if s.cache.seq == seq {
		s.cache.seq, s.cache.data, s.cache.complete = 0, nil, false
	}
}

// forget sets the pending count to zero when nothing more can be read
// (the count came from frames that turned out unreadable).
func (s *spool) forget() {
	s.mu.Lock()
	s.records = 0
	s.mu.Unlock()
}

func (s *spool) takeCorrupt() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.corrupt
	s.corrupt = 0
	return n
}

func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		err := s.w.Close()
		s.w = nil
		return err
	}
	return nil
}
