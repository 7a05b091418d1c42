package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the config file at path, expands ${VAR} from the process
// environment, applies defaults and validates it. Any problem is returned as
// Problems, each with file:line and a hint.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Msg: "cannot read config: " + pathErrorText(err),
			Hint: "pass the path of a YAML config file (see examples/minimal.yaml)"}}
	}
	cfg, err := Parse(path, data, os.LookupEnv)
	if err == nil && cfg.Registry.File == "" && cfg.Registry.Redis == "" {
		cfg.Registry.File = StateFile(path)
	}
	return cfg, err
}

// StateFile is the default registry file for a config at path: beside it,
// with the extension replaced by .state.json.
func StateFile(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + ".state.json"
}

// Parse is Load without the file system: file names the data in problems and
// env looks variables up (os.LookupEnv, or a map in tests; nil means no
// variables are set). The returned Config has defaults applied and passed
// validation; on any problem Parse returns nil and Problems sorted by line.
func Parse(file string, data []byte, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	src := newSource(file)
	root, perr := parseYAML(file, data)
	if perr != nil {
		return nil, perr
	}

	cfg := &Config{}
	d := &decoder{src: src, env: env}
	d.decode(nil, root, reflect.ValueOf(cfg).Elem(), "", 0)
	if d.aborted {
		return nil, d.problems.err()
	}

	problems := d.problems
	problems = append(problems, applyDefaultsChecked(cfg, src)...)
	problems = append(problems, validate(cfg, src)...)
	if err := problems.err(); err != nil {
		return nil, err
	}
	cfg.File = file
	return cfg, nil
}

// parseYAML reads exactly one YAML document into a node tree.
func parseYAML(file string, data []byte) (*yaml.Node, Problems) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Problems{{File: file, Msg: "the config file is empty",
				Hint: "start from examples/minimal.yaml"}}
		}
		return nil, Problems{syntaxProblem(file, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Problems{{File: file, Line: extra.Line, Column: extra.Column,
			Msg: "the file holds more than one YAML document", Hint: "remove the second --- and what follows"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, Problems{syntaxProblem(file, err)}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind == yaml.DocumentNode || root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, Problems{{File: file, Msg: "the config file is empty",
			Hint: "start from examples/minimal.yaml"}}
	}
	return root, nil
}

// yamlLine finds the line in a YAML syntax error. go.yaml.in/yaml/v3 has no
// typed syntax error, so the position is read from its message; this only
// places the problem, no decision depends on it.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxProblem(file string, err error) Problem {
	p := Problem{File: file, Msg: "invalid YAML: " + err.Error(),
		Hint: "check indentation and quoting near this line; quote values containing ': ', '#', '{' or '['"}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		if line, aerr := strconv.Atoi(m[1]); aerr == nil && line > 0 {
			if parserMessages[m[2]] {
				line++
			}
			p.Line, p.Msg = line, "invalid YAML: "+m[2]
		}
	}
	return p
}

// parserMessages are the problems yaml/v3's parser (as opposed to its
// scanner) reports. It numbers their lines from 0 while the scanner's count
// from 1, so these need one added.
var parserMessages = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// pathErrorText drops the path from an *os.PathError: the problem already
// names the file.
func pathErrorText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s: %v", pe.Op, pe.Err)
	}
	return err.Error()
}
