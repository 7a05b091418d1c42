package config

import (
	"fmt"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	_ yaml.Unmarshaler = (*Duration)(nil)
	_ yaml.Marshaler   = Duration(0)
)

// hintError is a decoding failure that knows how to fix itself; the decoder
// turns it into a Problem at the value's line.
type hintError struct{ msg, hint string }

func (e *hintError) Error() string { return e.msg }

// UnmarshalYAML accepts Go duration strings ("250ms", "1s", "1m30s"). A bare
// number is refused: "timeout: 5" could mean seconds or milliseconds, so the
// unit must be written.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &hintError{
			msg:  "want a duration, got a " + kindName(n),
			hint: `write a Go duration such as "250ms", "1s" or "2m"`,
		}
	}
	if _, err := strconv.ParseFloat(n.Value, 64); err == nil {
		return &hintError{
			msg:  fmt.Sprintf("%s is a bare number; a duration needs a unit", n.Value),
			hint: fmt.Sprintf(`add a unit: "%ss" or "%sms"`, n.Value, n.Value),
		}
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &hintError{
			msg:  fmt.Sprintf("%q is not a duration", n.Value),
			hint: `write a Go duration such as "250ms", "1s" or "2m"`,
		}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string ("1.5s"), so a dumped config
// loads back.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String formats the duration like time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }
