package config

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a config file: where it is, what is wrong
// and how to fix it.
type Problem struct {
	// File is the config file's path as given to Load or Parse.
	File string
	// Line and Column locate the offending key or value (1-based). Line is 0
	// for a problem with the whole file (unreadable, empty).
	Line, Column int
	// Path is the dotted path of the offending key, for example
	// chains.eth.groups.logs.nodes[0]. Empty for a problem with the whole
	// file. Map keys that are not plain words are quoted: chains["eth.main"].
	Path string
	// Msg says what is wrong; Hint says how to fix it (may be empty).
	Msg, Hint string
}

// String renders the problem as file:line:col: msg (hint: ...).
func (p Problem) String() string {
	var b strings.Builder
	file := p.File
	if file == "" {
		file = "config"
	}
	b.WriteString(file)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteString(":" + strconv.Itoa(p.Column))
		}
	} else if p.Path != "" {
		// No position (a Config built in code): the path is the location.
		b.WriteString(": " + p.Path)
	}
	b.WriteString(": ")
	b.WriteString(p.Msg)
	if p.Hint != "" {
		b.WriteString(" (hint: " + p.Hint + ")")
	}
	return b.String()
}

// Problems is every problem found in a config file, sorted by position. Load
// and Parse return it as their error so a user can fix everything in one go.
type Problems []Problem

// Error renders one problem per line as file:line:col: msg (hint: ...).
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// AsProblems reports whether err is (or wraps) Problems and returns them.
func AsProblems(err error) (Problems, bool) {
	var ps Problems
	if errors.As(err, &ps) {
		return ps, true
	}
	return nil, false
}

// sort orders problems by file position; file-level problems come first.
func (ps Problems) sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
}

// err returns ps as an error, or nil when there are no problems.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	ps.sort()
	return ps
}
