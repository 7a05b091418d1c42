package config

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits that keep a hostile or broken file (alias bombs, deep nesting) from
// costing more than a config ever needs.
const (
	maxDecodeNodes = 1 << 20
	maxDecodeDepth = 64
)

// decoder walks a yaml.Node tree and a Go value side by side. Unlike
// yaml.Node.Decode it keeps going after a mistake, so one run reports every
// unknown key and bad value with its line, and it records the position of
// every path for the semantic checks in validate.go. It also expands ${VAR}
// in scalar values.
type decoder struct {
	src      *source
	env      func(string) (string, bool)
	problems Problems
	nodes    int
	// aborted is set when a limit was hit; decoding stops.
	aborted bool
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// problem records a problem at a node's position.
func (d *decoder) problem(n *yaml.Node, path, msg, hint string) {
	d.problems = append(d.problems, Problem{
		File: d.src.file, Line: n.Line, Column: n.Column,
		Path: path, Msg: msg, Hint: hint,
	})
}

// fail records a problem with the value at path and marks path bad.
func (d *decoder) fail(n *yaml.Node, path, msg, hint string) {
	d.src.bad[path] = true
	d.problem(n, path, msg, hint)
}

// decode fills v (addressable) from n. key is the node's key node (nil for
// list items and the document) and is used for positions.
func (d *decoder) decode(key, n *yaml.Node, v reflect.Value, path string, depth int) {
	if d.aborted {
		return
	}
	d.nodes++
	if d.nodes > maxDecodeNodes || depth > maxDecodeDepth {
		d.aborted = true
		d.fail(n, path, "the document is too large or too deeply nested (aliases?)",
			"a config needs neither deep nesting nor aliases expanding to a million values")
		return
	}
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.fail(n, path, "alias to an unknown anchor", "define the &anchor before using *alias")
			return
		}
		n = n.Alias
	}
	p := position{line: n.Line, col: n.Column, keyLine: n.Line, keyCol: n.Column,
		null: n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"}
	if key != nil {
		p.keyLine, p.keyCol = key.Line, key.Column
	}
	d.src.pos[path] = p

	// A pointer is allocated unless the value is null; a null struct pointer
	// (a chain or node written as `eth:`) is allocated anyway so that the
	// semantic checks can say what it lacks.
	if v.Kind() == reflect.Pointer {
		if p.null && v.Type().Elem().Kind() != reflect.Struct {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if v.Addr().Type().Implements(unmarshalerType) {
		d.unmarshaler(n, v, path)
		return
	}
	if p.null {
		return // explicit null: leave the zero value (the default applies)
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structure(n, v, path, depth)
	case reflect.Map:
		d.mapping(n, v, path, depth)
	case reflect.Slice:
		d.sequence(n, v, path, depth)
	default:
		d.scalar(n, v, path)
	}
}

// wantKind reports a node of the wrong kind; hint shows the right shape.
func (d *decoder) wantKind(n *yaml.Node, path string, want yaml.Kind, example string) bool {
	if n.Kind == want {
		return true
	}
	d.fail(n, path, fmt.Sprintf("%s: want a %s, got a %s", describe(path), kindWord(want), kindName(n)),
		"write "+example)
	return false
}

// describe names a path in messages: its last key, or "the file" for the root.
func describe(path string) string {
	if path == "" {
		return "the file"
	}
	return lastKey(path)
}

// structure decodes a mapping into a struct, refusing unknown keys.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string, depth int) {
	if !d.wantKind(n, path, yaml.MappingNode, describe(path)+": {key: value, ...} or an indented block") {
		return
	}
	fields := yamlFields(v.Type())
	for _, e := range d.entries(n, path, depth) {
		fpath := joinPath(path, e.key.Value)
		idx, ok := fields[e.key.Value]
		if !ok {
			d.unknownKey(e.key, fpath, path, v.Type())
			continue
		}
		d.decode(e.key, e.value, v.FieldByIndex(idx), fpath, depth+1)
	}
}

// mapping decodes a mapping with user-chosen keys (chains, nodes, headers).
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, depth int) {
	if !d.wantKind(n, path, yaml.MappingNode, describe(path)+": {name: value, ...} or an indented block") {
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		panic("config: map keys must be strings: " + v.Type().String()) // schema bug
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for _, e := range d.entries(n, path, depth) {
		kpath := joinPath(path, e.key.Value)
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(e.key, e.value, elem, kpath, depth+1)
		v.SetMapIndex(reflect.ValueOf(e.key.Value).Convert(v.Type().Key()), elem)
	}
}

// sequence decodes a list.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string, depth int) {
	if !d.wantKind(n, path, yaml.SequenceNode, describe(path)+": [a, b] or one \"- item\" per line") {
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(nil, item, s.Index(i), indexPath(path, i), depth+1)
	}
	v.Set(s)
}

// scalar decodes a string, number or bool, expanding ${VAR} first.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if !d.wantKind(n, path, yaml.ScalarNode, describe(path)+": value") {
		return
	}
	n, ok := d.expand(n, path)
	if !ok {
		return
	}
	if v.Kind() == reflect.String {
		// Any scalar is a fine string (token: 12345); take the text as
		// written rather than YAML's reading of it (null, ~, yes).
		v.SetString(n.Value)
		return
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		what, example := typeWords(v.Type())
		d.fail(n, path, fmt.Sprintf("%s: %q is not %s", describe(path), n.Value, what),
			fmt.Sprintf("write %s: %s", describe(path), example))
	}
}

// unmarshaler decodes a type with its own UnmarshalYAML (Duration), after
// ${VAR} expansion.
func (d *decoder) unmarshaler(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode {
		if n.ShortTag() == "!!null" {
			return
		}
		var ok bool
		if n, ok = d.expand(n, path); !ok {
			return
		}
	}
	err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n)
	if err == nil {
		return
	}
	var he *hintError
	if errors.As(err, &he) {
		d.fail(n, path, describe(path)+": "+he.msg, he.hint)
		return
	}
	d.fail(n, path, describe(path)+": "+err.Error(), "")
}

// expand returns n with ${VAR} references in its value expanded. A value that
// came from the environment is re-read as if written plainly, so
// `workers: "${WORKERS}"` decodes as a number.
func (d *decoder) expand(n *yaml.Node, path string) (*yaml.Node, bool) {
	if !strings.Contains(n.Value, "${") {
		return n, true
	}
	val, errs := expandEnv(n.Value, d.env)
	for _, e := range errs {
		d.fail(n, path, describe(path)+": "+e.msg, e.hint)
	}
	if len(errs) > 0 {
		return n, false
	}
	c := *n
	c.Value = val
	if c.Style&yaml.TaggedStyle == 0 {
		c.Tag, c.Style = "", 0
	}
	return &c, true
}

// entry is one key: value pair of a mapping.
type entry struct{ key, value *yaml.Node }

// entries lists a mapping's pairs, reporting duplicate and non-scalar keys and
// applying YAML merge keys (<<: *anchor): merged keys never override keys
// written in the mapping itself.
func (d *decoder) entries(n *yaml.Node, path string, depth int) []entry {
	if depth > maxDecodeDepth {
		if !d.aborted {
			d.aborted = true
			d.fail(n, path, "merge keys (<<) nest too deeply or refer to themselves", "merge a mapping that does not contain itself")
		}
		return nil
	}
	var out []entry
	seen := map[string]*yaml.Node{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style == 0 && k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, fmt.Sprintf("%s: a key must be a plain name, got a %s", describe(path), kindName(k)), "")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(k, joinPath(path, k.Value),
				fmt.Sprintf("%q is defined twice in %s (first at line %d)", k.Value, describe(path), first.Line),
				"keep one of them")
			continue
		}
		seen[k.Value] = k
		out = append(out, entry{k, val})
	}
	for _, m := range merges {
		for m.Kind == yaml.AliasNode && m.Alias != nil {
			m = m.Alias
		}
		var sources []*yaml.Node
		switch m.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{m}
		case yaml.SequenceNode:
			sources = m.Content
		}
		for _, s := range sources {
			for s.Kind == yaml.AliasNode && s.Alias != nil {
				s = s.Alias
			}
			if s.Kind != yaml.MappingNode {
				d.fail(s, path, "<<: must merge a mapping or a list of mappings", "write <<: *anchor")
				continue
			}
			d.nodes += len(s.Content)
			if d.nodes > maxDecodeNodes {
				return out
			}
			for _, e := range d.entries(s, path, depth+1) {
				if _, dup := seen[e.key.Value]; !dup {
					seen[e.key.Value] = e.key
					out = append(out, e)
				}
			}
		}
	}
	return out
}

// unknownKey reports a key the schema does not have, suggesting the closest
// known key or listing them all.
func (d *decoder) unknownKey(k *yaml.Node, path, parent string, t reflect.Type) {
	known := slices.Sorted(maps.Keys(yamlFields(t)))
	where := "at the top level"
	if parent != "" {
		where = "in " + parent
	}
	msg := fmt.Sprintf("unknown key %q %s", k.Value, where)
	hint := "valid keys: " + strings.Join(known, ", ")
	if s := closest(k.Value, known); s != "" {
		hint = fmt.Sprintf("did you mean %q?", s)
	}
	d.fail(k, path, msg, hint)
}

// yamlFields maps the YAML keys of a struct to field indexes, read from the
// yaml tags so new fields are known without further code. Inline structs are
// flattened; `yaml:"-"` fields are not keys.
func yamlFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") && f.Type.Kind() == reflect.Struct {
			for k, idx := range yamlFields(f.Type) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = []int{i}
	}
	return out
}

// kindName names what a node is, for "want a list, got a mapping".
func kindName(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		if n.ShortTag() == "!!null" {
			return "null"
		}
		return fmt.Sprintf("value (%q)", n.Value)
	}
	return kindWord(n.Kind)
}

func kindWord(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// typeWords describes a scalar Go type for messages: what it is and an
// example value.
func typeWords(t reflect.Type) (what, example string) {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number", "10"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number >= 0", "10"
	case reflect.Bool:
		return "true or false", "true"
	case reflect.Float32, reflect.Float64:
		return "a number", "1.5"
	}
	return "a " + t.String(), "..."
}
