package config

import (
	"fmt"
	"regexp"
	"strings"
)

// envName is what may appear between ${ and }.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// envError is one failed ${VAR} reference.
type envError struct{ msg, hint string }

// expandEnv replaces every ${VAR} in s with its value from env; $${ stands for
// a literal ${. A bare $ or $VAR is left alone, so URLs and tokens containing
// $ need no escaping. It returns every failed reference, not just the first.
func expandEnv(s string, env func(string) (string, bool)) (string, []envError) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var errs []envError
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), errs
		}
		if i > 0 && s[i-1] == '$' {
			// $${ is an escaped ${: keep one $ (already copied) and the {.
			b.WriteString(s[:i])
			b.WriteString("{")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			errs = append(errs, envError{
				msg:  fmt.Sprintf("unterminated %q: missing }", s[i:]),
				hint: "write ${NAME}, or $${ for a literal ${",
			})
			b.WriteString(s[i:])
			return b.String(), errs
		}
		name := s[i+2 : i+end]
		s = s[i+end+1:]
		if !envName.MatchString(name) {
			errs = append(errs, envError{
				msg:  fmt.Sprintf("${%s} is not a valid variable reference", name),
				hint: "variable names are letters, digits and _ (not starting with a digit); write $${ for a literal ${",
			})
			continue
		}
		v, ok := env(name)
		if !ok {
			errs = append(errs, envError{
				msg:  fmt.Sprintf("${%s} is not set", name),
				hint: fmt.Sprintf("export %s or remove the reference", name),
			})
			continue
		}
		b.WriteString(v)
	}
}
