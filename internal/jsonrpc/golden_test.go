package jsonrpc

import (
	"bufio"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/decode.golden from the current Decode")

// TestDecodeGolden replays testdata/decode.golden: each "> " line is a client
// body (the rest of the line, verbatim), the "< " lines after it are the
// decoded summary. Lines starting with '#' are comments. The batch limit is 3.
func TestDecodeGolden(t *testing.T) {
	const path = "testdata/decode.golden"
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	var body string
	var want []string
	check := func() {
		if body == "" {
			return
		}
		got := summary(Decode([]byte(body), 3))
		out.WriteString("> " + body + "\n")
		for _, l := range strings.Split(got, "\n") {
			out.WriteString("< " + l + "\n")
		}
		if g := strings.Join(want, "\n"); g != got && !*update {
			t.Errorf("body %s\n got: %s\nwant: %s", body, got, g)
		}
		body, want = "", nil
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "> "):
			check()
			body = line[2:]
		case strings.HasPrefix(line, "< "):
			want = append(want, line[2:])
		default:
			check()
			out.WriteString(line + "\n")
		}
	}
	check()
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
