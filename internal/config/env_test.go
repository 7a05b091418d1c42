package config

import (
	"testing"
)

func TestExpandEnv(t *testing.T) {
	t.Parallel()
	env := envOf("TOKEN", "s3cret", "EMPTY", "", "HOST", "10.0.0.9")
	tests := []struct {
		in, want string
		errs     int
	}{
		{"plain", "plain", 0},
		{"${TOKEN}", "s3cret", 0},
		{"Bearer ${TOKEN}", "Bearer s3cret", 0},
		{"http://${HOST}:8545/${TOKEN}", "http://10.0.0.9:8545/s3cret", 0},
		{"${EMPTY}", "", 0},
		{"$${TOKEN}", "${TOKEN}", 0},
		{"a$${b}c", "a${b}c", 0},
		{"$$${TOKEN}", "$${TOKEN}", 0},
		{"pa$$word", "pa$$word", 0},
		{"$TOKEN", "$TOKEN", 0},
		{"${MISSING}", "", 1},
		{"${MISSING}-${ALSO_MISSING}", "-", 2},
		{"${}", "", 1},
		{"${1X}", "", 1},
		{"${TOKEN", "${TOKEN", 1},
	}
	for _, tt := range tests {
		got, errs := expandEnv(tt.in, env)
		if len(errs) != tt.errs {
			t.Errorf("expandEnv(%q): %d errors %v, want %d", tt.in, len(errs), errs, tt.errs)
			continue
		}
		if tt.errs == 0 && got != tt.want {
			t.Errorf("expandEnv(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEnvInConfig(t *testing.T) {
	t.Parallel()
	data := yamlLines(
		`admin: {listen: "127.0.0.1:8546", token: "${TOKEN}"}`,
		`chains:`,
		`  eth:`,
		`    chain_id: ${CHAIN_ID}`,
		`    nodes:`,
		`      a:`,
		`        url: http://${HOST}:8545`,
		`        workers: "${WORKERS}"`,
		`        headers: {Authorization: "Bearer ${TOKEN}", X-Literal: "$${NOT_EXPANDED}"}`,
		`    groups:`,
		`      default: {nodes: [a]}`,
		`    poll_interval: ${POLL}`,
	)
	env := envOf("TOKEN", "123", "CHAIN_ID", "1337", "HOST", "10.0.0.1", "WORKERS", "7", "POLL", "250ms")
	cfg, err := Parse("test.yaml", data, env)
	if err != nil {
		t.Fatal(err)
	}
	ch := cfg.Chains["eth"]
	a := ch.Nodes["a"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"token (a number-looking value stays text)", cfg.Admin.Token, "123"},
		{"chain_id from env", ch.ChainID, uint64(1337)},
		{"url with a variable inside", a.URL, "http://10.0.0.1:8545"},
		{"quoted number from env", a.Workers, 7},
		{"header", a.Headers["Authorization"], "Bearer 123"},
		{"escaped header", a.Headers["X-Literal"], "${NOT_EXPANDED}"},
		{"duration from env", ch.PollInterval.String(), "250ms"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEnvProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
		env  func(string) (string, bool)
		want []wantProblem
	}{
		{
			name: "missing variable",
			data: withChain(`admin: {listen: "127.0.0.1:1", token: "${RPCGATE_ADMIN_TOKEN}"}`),
			env:  envOf(),
			want: []wantProblem{{line: 9,
				msg:  []string{"token", "${RPCGATE_ADMIN_TOKEN} is not set"},
				hint: []string{"export RPCGATE_ADMIN_TOKEN or remove the reference"}}},
		},
		{
			name: "two missing variables in one value",
			data: replaceLine(5, `      a: {url: "http://${H}:${P}"}`),
			env:  envOf(),
			want: []wantProblem{
				{line: 5, msg: []string{"${H} is not set"}},
				{line: 5, msg: []string{"${P} is not set"}},
			},
		},
		{
			name: "unterminated reference",
			data: replaceLine(5, `      a: {url: "http://${HOST"}`),
			env:  envOf("HOST", "x"),
			want: []wantProblem{{line: 5, msg: []string{"unterminated", "missing }"}, hint: []string{"$${"}}},
		},
		{
			name: "variable makes a bad number",
			data: replaceLine(3, `    chain_id: ${ID}`),
			env:  envOf("ID", "mainnet"),
			want: []wantProblem{{line: 3, msg: []string{"chain_id", `"mainnet"`}}},
		},
		{
			name: "keys are not expanded",
			data: withChain(`${KEY}: 1`),
			env:  envOf("KEY", "listen"),
			want: []wantProblem{{line: 9, msg: []string{`unknown key "${KEY}"`}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkProblems(t, parseProblems(t, tt.data, tt.env), tt.want...)
		})
	}
}
