package nodespec

import (
	"net/netip"
	"strings"
	"testing"
)

func valid() Spec {
	s := Spec{Name: "a", URL: "http://10.0.0.1:8545"}
	s.ApplyDefaults()
	return s
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	s := Spec{Name: "a", URL: "http://10.0.0.1:8545", Workers: 5}
	s.ApplyDefaults()
	want := Spec{Name: "a", URL: "http://10.0.0.1:8545", Weight: 1, Workers: 5, Queue: 40, MaxRequestBytes: 5 << 20}
	if s.Weight != want.Weight || s.Workers != want.Workers || s.Queue != want.Queue || s.MaxRequestBytes != want.MaxRequestBytes {
		t.Errorf("defaults = %+v, want %+v", s, want)
	}
	again := s
	again.ApplyDefaults()
	if again.Queue != s.Queue || again.Weight != s.Weight {
		t.Errorf("ApplyDefaults is not idempotent: %+v then %+v", s, again)
	}
	if ps := s.Validate(); len(ps) != 0 {
		t.Errorf("defaults do not validate: %v", ps)
	}
	// An over-large workers value does not drag a second problem in
	// through its default queue.
	big := Spec{Name: "a", URL: "http://h", Workers: MaxWorkers + 1}
	big.ApplyDefaults()
	if ps := big.Validate(); len(ps) != 1 || ps[0].Field != FieldWorkers {
		t.Errorf("workers %d: problems %v, want only workers", big.Workers, ps)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(*Spec)
		field  string // "" = valid
		header string
		atKey  bool
		msg    []string
	}{
		{"defaults are valid", func(*Spec) {}, "", "", false, nil},
		{"upper-case scheme", func(s *Spec) { s.URL = "HTTPS://node.example/rpc" }, "", "", false, nil},
		{"mixed-case ws scheme", func(s *Spec) { s.WS = "Wss://node.example/ws" }, "", "", false, nil},
		{"bad name", func(s *Spec) { s.Name = "-a" }, FieldName, "", true, []string{`node name "-a" is not valid`}},
		{"empty name", func(s *Spec) { s.Name = "" }, FieldName, "", true, []string{`node name "" is not valid`}},
		{"no url", func(s *Spec) { s.URL = "" }, FieldURL, "", false, []string{`node "a" has no url`}},
		{"wrong scheme", func(s *Spec) { s.URL = "ftp://h" }, FieldURL, "", false, []string{"http:// or https://"}},
		{"port but no host", func(s *Spec) { s.URL = "http://:8545" }, FieldURL, "", false, []string{"with a host"}},
		{"credentials redacted", func(s *Spec) { s.URL = "ftp://u:secret@h/?key=k2" }, FieldURL, "", false, []string{"xxxxx"}},
		{"unparseable url with credentials", func(s *Spec) { s.URL = "http://u:secret@h:port/?key=k2" }, FieldURL, "", false, []string{"not shown"}},
		{"ws scheme", func(s *Spec) { s.WS = "http://h" }, FieldWS, "", false, []string{"ws:// or wss://"}},
		{"weight low", func(s *Spec) { s.Weight = -1 }, FieldWeight, "", false, []string{"weight must be at least 1, got -1"}},
		{"weight high", func(s *Spec) { s.Weight = MaxWeight + 1 }, FieldWeight, "", false, []string{"weight must be at most 1000, got 1001"}},
		{"weight at max", func(s *Spec) { s.Weight = MaxWeight }, "", "", false, nil},
		{"workers high", func(s *Spec) { s.Workers = 5000 }, FieldWorkers, "", false, []string{"workers must be at most 4096"}},
		{"workers at max", func(s *Spec) { s.Workers = MaxWorkers }, "", "", false, nil},
		{"queue negative", func(s *Spec) { s.Queue = -3 }, FieldQueue, "", false, []string{"queue must be at least 0"}},
		{"queue high", func(s *Spec) { s.Queue = MaxQueue + 1 }, FieldQueue, "", false, []string{"queue must be at most 32768"}},
		{"request bytes high", func(s *Spec) { s.MaxRequestBytes = MaxMaxRequestBytes + 1 }, FieldMaxRequestBytes, "", false, []string{"max_request_bytes must be at most"}},
		{"request bytes negative", func(s *Spec) { s.MaxRequestBytes = -1 }, FieldMaxRequestBytes, "", false, []string{"max_request_bytes must be at least 1"}},
		{"header with a space", func(s *Spec) { s.Headers = map[string]string{"X Key": "v"} }, FieldHeaders, "X Key", true, []string{`"X Key" is not a valid HTTP header name`}},
		{"header with a colon", func(s *Spec) { s.Headers = map[string]string{"X-Key:": "v"} }, FieldHeaders, "X-Key:", true, []string{"header name"}},
		{"header with non-ASCII", func(s *Spec) { s.Headers = map[string]string{"X-Kéy": "v"} }, FieldHeaders, "X-Kéy", true, []string{"header name"}},
		{"empty header name", func(s *Spec) { s.Headers = map[string]string{"": "v"} }, FieldHeaders, "", true, []string{"header name"}},
		{"token characters", func(s *Spec) { s.Headers = map[string]string{"X-A_b.c!#$%&'*+^`|~1": "v"} }, "", "", false, nil},
		{"line break in value", func(s *Spec) { s.Headers = map[string]string{"X-Key": "a\r\nHost: evil"} }, FieldHeaders, "X-Key", false, []string{"line break"}},
		{"control character in value", func(s *Spec) { s.Headers = map[string]string{"X-Key": "a\x00b"} }, FieldHeaders, "X-Key", false, []string{"control character"}},
		{"tab in value", func(s *Spec) { s.Headers = map[string]string{"X-Key": "a\tb"} }, "", "", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := valid()
			tc.change(&s)
			ps := s.Validate()
			if tc.field == "" {
				if len(ps) != 0 {
					t.Fatalf("problems %v, want none", ps)
				}
				return
			}
			if len(ps) != 1 {
				t.Fatalf("problems %v, want one on %s", ps, tc.field)
			}
			p := ps[0]
			if p.Field != tc.field || p.Header != tc.header || p.AtKey != tc.atKey {
				t.Errorf("problem on %s[%q] atKey=%v, want %s[%q] atKey=%v", p.Field, p.Header, p.AtKey, tc.field, tc.header, tc.atKey)
			}
			for _, m := range tc.msg {
				if !strings.Contains(p.Msg, m) {
					t.Errorf("message %q does not contain %q", p.Msg, m)
				}
			}
			if p.Hint == "" || !strings.HasSuffix(p.String(), " (hint: "+p.Hint+")") {
				t.Errorf("String() = %q: want the message followed by its hint", p.String())
			}
			for _, secret := range []string{"secret", "k2"} {
				if strings.Contains(p.String(), secret) {
					t.Errorf("problem %q shows a credential", p.String())
				}
			}
		})
	}
}

func TestHostRules(t *testing.T) {
	t.Parallel()
	rs, err := ParseHostRules([]string{"10.0.0.0/8", "192.168.1.7", "*.Nodes.Example", "fd00::/8", "169.254.169.254/32"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"10.1.2.3", true}, {"11.0.0.1", false}, {"192.168.1.7", true}, {"192.168.1.8", false},
		{"::ffff:10.0.0.1", true}, {"fd00::1", true}, {"169.254.169.254", true}, {"169.254.1.1", false},
	} {
		if got := rs.AllowsAddr(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("AllowsAddr(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	for _, tc := range []struct {
		host  string
		exact bool
		want  bool
	}{
		{"a.nodes.example", false, true}, {"A.NODES.EXAMPLE.", false, true}, {"nodes.example", false, false},
		{"a.nodes.example.evil", false, false}, {"a.nodes.example", true, false},
	} {
		if got := rs.AllowsName(tc.host, tc.exact); got != tc.want {
			t.Errorf("AllowsName(%q, exact %v) = %v, want %v", tc.host, tc.exact, got, tc.want)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "http://x", "x:80", "a b", "[a", "*/x"} {
		if _, err := ParseHostRule(bad); err == nil {
			t.Errorf("ParseHostRule(%q) accepted", bad)
		}
	}
}

func TestSpecial(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"169.254.169.254": true, "169.254.0.1": true, "fe80::1": true, "fd00:ec2::254": true,
		"::ffff:169.254.169.254": true, "100.100.100.200": true,
		"10.0.0.1": false, "127.0.0.1": false, "fd00::1": false, "8.8.8.8": false,
	} {
		if got := Special(netip.MustParseAddr(addr)) != ""; got != want {
			t.Errorf("Special(%s) = %v, want %v", addr, got, want)
		}
	}
	if !SpecialHost("Metadata.Google.Internal.") || SpecialHost("metadata.example") {
		t.Error("SpecialHost does not recognise metadata.google.internal (any case, trailing dot) alone")
	}
}

// FuzzValidate feeds admin-API-shaped input (untrusted JSON fields) to
// the rules: they must never panic, and a spec they accept must carry a
// URL with a host and header names that are tokens.
func FuzzValidate(f *testing.F) {
	f.Add("a", "http://10.0.0.1:8545", "", "Authorization", "Bearer x", 1, 32)
	f.Add("-", "HTTP://:1", "ws://", "X Key", "a\r\nb", -1, 5000)
	f.Add("n", "http://[::1]:8545/x?k=v", "wss://h/", "", "", 0, 0)
	f.Fuzz(func(t *testing.T, name, url, ws, hname, hval string, weight, workers int) {
		s := Spec{Name: name, URL: url, WS: ws, Headers: map[string]string{hname: hval}, Weight: weight, Workers: workers}
		s.ApplyDefaults()
		ps := s.Validate()
		for _, p := range ps {
			if p.Msg == "" || p.Field == "" {
				t.Fatalf("problem without message or field: %+v", p)
			}
		}
		if len(ps) == 0 && (!ValidURL(url, "http", "https") || !ValidHeaderName(hname)) {
			t.Fatalf("accepted url %q header %q", url, hname)
		}
	})
}
