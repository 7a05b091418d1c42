package status

import (
	"encoding/json"
	"testing"
	"time"
)

// Regression (issue 8): /status.json said "incidents": null when a chain
// had history but no state change.
func TestIncidentsNeverNull(t *testing.T) {
	t.Parallel()
	for _, events := range [][]Event{nil, {{Node: "a", Up: true, At: time.Unix(1, 0)}}} {
		b, err := json.Marshal(chainJSON{Incidents: incidents(events, maxIncidents)})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if string(m["incidents"]) != "[]" {
			t.Fatalf("incidents = %s, want []", m["incidents"])
		}
	}
}
